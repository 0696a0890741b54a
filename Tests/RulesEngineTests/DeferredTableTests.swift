import XCTest
@testable import RulesEngine
import Support

/// `lex:breakdown` returns a deferred table (CLuaHost/deferred.c): written from its JSON text when the rules only
/// add to it, built when they look at it. Whatever the rules do with it, the stored text and what the rules see
/// are those of the table built in full.
final class DeferredTableTests: XCTestCase {
    private func shippedRules() throws -> [String: String] {
        var files: [String: String] = [:]
        for name in ["urgency.lua", "vocabulary.lua"] {
            files[name] = try String(contentsOfFile: Repository.rules + "/" + name, encoding: .utf8)
        }
        return files
    }

    /// When the reference builds the breakdown: as the method returns it, or after the rules' changes (for what
    /// depends on the order keys went in, as what a writer past its budget keeps).
    private enum Building { case never, first, afterChanges }

    /// The shipped rules with `score` replaced: `body` works on `e`, the breakdown of the message, then `result`
    /// is returned. The breakdown is built (by iterating it) where `building` says.
    private func rules(body: String, result: String = "e", building: Building) throws -> [String: String] {
        var files = try shippedRules()
        let build = "for _ in pairs(e) do end"
        files["urgency.lua", default: ""] += """

            local last
            function score(message, ctx)
              local keyword, e = words:breakdown(message.text)
              \(building == .first ? build : "")
              \(body)
              \(building == .afterChanges ? build : "")
              return keyword, \(result)
            end
            """
        return files
    }

    private let sampleMessages = [
        "my account is blocked, please help urgently", "thanks, it works now", "I was charged twice for the loan",
        "not fraud, just a question about my limit", "", "🙂 nimeibiwa simu", "quote \" and backslash \\ in text",
        "fraud fraud fraud stolen stolen", "if my card is stolen what happens?",
    ]

    /// The stored text of each message's breakdown, the evaluation time and the rules version left out.
    private func storedTexts(_ files: [String: String], _ messages: [String]) throws -> [String] {
        let scorer = try scorer(files)
        return try messages.map { text in
            var breakdown = try XCTUnwrap(try scorer.score(ScoringInput(text: text, customerID: 3)).breakdown)
            breakdown.evaluationMicroseconds = 0
            breakdown.rulesVersion = ""
            return breakdown.jsonText
        }
    }

    private func assertSameAsBuilt(body: String, result: String = "e", building: Building = .first,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let messages = sampleMessages
        let deferred = try storedTexts(rules(body: body, result: result, building: .never), messages)
        let built = try storedTexts(rules(body: body, result: result, building: building), messages)
        for (a, b) in zip(deferred, built) where a != b {
            XCTFail("\(body):\n\(a)\n\(b)", file: file, line: line)
            break
        }
        XCTAssertTrue(built.contains { $0.contains("\"concepts\"") }, "the breakdowns have content: \(built)", file: file, line: line)
    }

    func testEveryMessagesStoredTextIsTheBuiltTablesText() throws {
        let shipped = try shippedRules()
        var reference = shipped
        let call = "local keyword, explanation = explained_score(text)\n"
        XCTAssertTrue(shipped["urgency.lua"]!.contains(call))
        reference["urgency.lua"] = shipped["urgency.lua"]!.replacingOccurrences(
            of: call, with: call + "  for _ in pairs(explanation) do end\n")
        let messages = try Repository.everyMessage() + sampleMessages
        XCTAssertGreaterThan(messages.count, 2000)
        let stored = try storedTexts(shipped, messages), built = try storedTexts(reference, messages)
        XCTAssertEqual(stored.count, built.count)
        for (index, (a, b)) in zip(stored, built).enumerated() where a != b {
            XCTFail("\(messages[index]):\n\(a)\n\(b)")
            break
        }

        // And the shipped rules never build it: every breakdown is written from its text.
        let vm = try RuleVM(ruleSet: RuleSet(files: shipped.mapValues { Array($0.utf8) }), limits: EngineLimits(),
                            log: DiscardingLogSink())
        let before = vm.breakdownWriter.deferredTablesWritten
        for text in messages { _ = try vm.evaluate(ScoringInput(text: text), options: ScoringOptions(explain: true)) }
        XCTAssertEqual(vm.breakdownWriter.deferredTablesWritten - before, UInt64(messages.count))
        XCTAssertEqual(vm.breakdownWriter.deferredTablesBuilt, 0)
        XCTAssertEqual(vm.breakdownWriter.valuesPathCount, 0)
    }

    func testWhatTheRulesAddIsMergedAndWhatTheyChangeWins() throws {
        try assertSameAsBuilt(body: "e.extra = 1; e.keyword_score = 2.5; e[1] = 'one'")
        try assertSameAsBuilt(body: "e.intent = 'overridden'")
        try assertSameAsBuilt(body: "e.fired = nil")
        try assertSameAsBuilt(body: "e.concepts.added = 'x'")
        try assertSameAsBuilt(body: "e['clé'] = 1")  // a key the C writer leaves to the host
        try assertSameAsBuilt(body: "e.note = 'caf\\xC3'")  // text that is not UTF-8
    }

    func testInsideOtherTablesAtAnyDepthAndInCycles() throws {
        try assertSameAsBuilt(body: "", result: "{ inner = e, list = { e, e } }")
        try assertSameAsBuilt(body: "e.self = e")
        for depth in 10...14 {
            try assertSameAsBuilt(body: "local t = e; for _ = 1, \(depth) do t = { t } end; e = { deep = t }")
        }
        // Past the value budget the writer builds the table and keeps the values the built table's `next` gives
        // first (an order that differs from one Lua state to the next, so only what is kept can be compared).
        let crowded = "for i = 1, 12000 do e['k' .. i] = i end"
        let plain = try storedTexts(rules(body: "", building: .first), sampleMessages)
        let deferred = try storedTexts(rules(body: crowded, building: .never), sampleMessages)
        let built = try storedTexts(rules(body: crowded, building: .afterChanges), sampleMessages)
        for ((plainText, deferredText), builtText) in zip(zip(plain, deferred), built) {
            guard case .object(let host)? = try? JSONParser.parse(plainText),
                  case .object(let kept)? = try? JSONParser.parse(deferredText),
                  case .object(let reference)? = try? JSONParser.parse(builtText) else { return XCTFail(deferredText) }
            XCTAssertEqual(kept.count, reference.count)
            XCTAssertLessThan(kept.count, 12000)
            for (key, value) in kept where !["evaluation_us", "rules_version", "urgency"].contains(key) {
                XCTAssertEqual(value, host[key] ?? .integer(Int64(key.dropFirst()) ?? -1), key)
            }
        }
        // Kept from one evaluation to the next.
        try assertSameAsBuilt(body: "local before = last; last = e", result: "{ now = e, before = before }")
    }

    /// Every way rules can look at a table sees the table built in full, and after it an ordinary table.
    func testEveryWayOfLookingBuildsIt() throws {
        var files = try shippedRules()
        files["urgency.lua", default: ""] += """

            local function dump(value)
              if type(value) ~= "table" then return type(value) .. ":" .. tostring(value) end
              local keys = {}
              for key in pairs(value) do keys[#keys + 1] = key end
              table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
              local parts = {}
              for _, key in ipairs(keys) do parts[#parts + 1] = tostring(key) .. "=" .. dump(value[key]) end
              return "{" .. table.concat(parts, ",") .. "}"
            end
            local function count(iterator, state, first)
              local n = 0
              for _ in iterator, state, first do n = n + 1 end
              return n
            end
            -- Each way of looking, and what it saw (compared with what it sees on a table built in full).
            local ways = {
              function(e) return dump(e.intent) end,
              function(e) return tostring(e.nothing) end,
              function(e) return tostring(#e) end,
              function(e) local k, v = next(e); return tostring(k ~= nil and e[k] == v) end,
              function(e) return dump(rawget(e, "fired")) end,
              function(e) return tostring(rawlen(e)) end,
              function(e) return tostring(getmetatable(e)) end,
              function(e) return tostring(count(ipairs(e))) end,
              function(e) return table.concat(e) end,
              function(e) return tostring(select("#", table.unpack(e))) end,
              function(e) table.insert(e, "x"); table.remove(e); return tostring(#e) end,
              function(e) rawset(e, "scratch", 1); rawset(e, "scratch", nil); return dump(e.concepts) end,
              function(e) setmetatable(e, nil); return dump(rawget(e, "modifiers")) end,
              function(e) return tostring(count(next, e)) end,
              function(e) return tostring(count(pairs(e))) end,
            }
            function score(message, ctx)
              local keyword, reference = words:breakdown(message.text)
              for _ in pairs(reference) do end
              local expected = dump(reference)
              assert(expected:find("fired="), expected)
              for number, look in ipairs(ways) do
                local _, twin = words:breakdown(message.text)
                for _ in pairs(twin) do end
                local _, e = words:breakdown(message.text)
                local saw, wanted = look(e), look(twin)
                assert(saw == wanted, "way " .. number .. " saw " .. saw .. ", not " .. wanted)
                assert(getmetatable(e) == nil, "way " .. number .. " left a metatable")
                assert(dump(e) == expected, "way " .. number .. ": " .. dump(e) .. " ~= " .. expected)
              end
              -- Writing one of its own keys builds it first; writing another does not lose it.
              local _, e = words:breakdown(message.text)
              e.concepts = nil
              local without = dump(e)
              assert(not without:find("concepts="), without)
              assert(without:find("fired="), without)
              return keyword
            end
            """
        let scorer = try scorer(files)
        for text in sampleMessages {
            XCTAssertNoThrow(try scorer.score(ScoringInput(text: text)), text)
        }
    }

    /// A breakdown made while loading the rules (kept in a local) is written the same when returned later.
    func testMadeWhileLoading() throws {
        var files = try shippedRules()
        files["urgency.lua", default: ""] += """

            local _, early = words:breakdown("my account is blocked, please help")
            local _, twin = words:breakdown("my account is blocked, please help")
            for _ in pairs(twin) do end
            function score(message, ctx) return 1, { early = early, twin = twin } end
            """
        var breakdown = try XCTUnwrap(try scorer(files).score(ScoringInput(text: "x")).breakdown)
        breakdown.evaluationMicroseconds = 0
        guard case .object(let early)? = breakdown.rule("early"), case .object(let twin)? = breakdown.rule("twin") else {
            return XCTFail("\(breakdown.jsonText)")
        }
        XCTAssertEqual(early, twin)
        XCTAssertNotNil(early["intent"])
    }
}
