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

    /// What the JSON writer did with a run's deferred tables.
    private struct Writing: Equatable {
        /// Written from their text, never built.
        var fromText: UInt64 = 0
        /// Breakdowns whose deferred tables the writer had built to write them exactly.
        var built = 0
    }

    /// The stored text of each message's breakdown (the evaluation time and the rules version left out), and what
    /// the writer did, scored by one rule VM as the scorer does.
    private func stored(_ files: [String: String], _ messages: [String]) throws -> (texts: [String], writing: Writing) {
        let vm = try RuleVM(ruleSet: RuleSet(files: files.mapValues { Array($0.utf8) }), limits: EngineLimits(),
                            log: DiscardingLogSink())
        let before = vm.breakdownWriter.deferredTablesWritten, builtBefore = vm.breakdownWriter.deferredTablesBuilt
        let texts = try messages.map { text in
            let (value, details) = try vm.evaluate(ScoringInput(text: text, customerID: 3), options: ScoringOptions(explain: true))
            return Breakdown(urgency: value, rulesVersion: "", evaluationMicroseconds: 0,
                             rulesText: details ?? JSONObjectText(members: [])).jsonText
        }
        return (texts, Writing(fromText: vm.breakdownWriter.deferredTablesWritten - before,
                               built: vm.breakdownWriter.deferredTablesBuilt - builtBefore))
    }

    private func storedTexts(_ files: [String: String], _ messages: [String]) throws -> [String] {
        try stored(files, messages).texts
    }

    /// What the writer should do with the deferred version's breakdowns: write this many deferred tables for each
    /// message from their text, find them built by the rules, or have them built.
    private enum Expected { case fromText(each: Int), builtByRules, builtByWriter, mixed }

    private func assertSameAsBuilt(body: String, result: String = "e", building: Building = .first, expected: Expected,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let messages = sampleMessages
        let deferred = try stored(rules(body: body, result: result, building: .never), messages)
        let built = try storedTexts(rules(body: body, result: result, building: building), messages)
        for (a, b) in zip(deferred.texts, built) where a != b {
            XCTFail("\(body):\n\(a)\n\(b)", file: file, line: line)
            break
        }
        XCTAssertTrue(built.contains { $0.contains("\"concepts\"") }, "the breakdowns have content: \(built)", file: file, line: line)
        switch expected {
        case .fromText(let each):
            XCTAssertEqual(deferred.writing, Writing(fromText: UInt64(each * messages.count), built: 0), body, file: file, line: line)
        case .builtByRules: XCTAssertEqual(deferred.writing, Writing(fromText: 0, built: 0), body, file: file, line: line)
        case .builtByWriter: XCTAssertEqual(deferred.writing.built, messages.count, body, file: file, line: line)
        case .mixed: break
        }
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
        try assertSameAsBuilt(body: "e.extra = 1; e.keyword_score = 2.5; e[1] = 'one'; e[2.5] = true", expected: .fromText(each: 1))
        try assertSameAsBuilt(body: "e.llm = { used = false, skipped = 'disabled' }; e.nothing = nil", expected: .fromText(each: 1))
        // Built where the breakdown has an intent; where it has none, the rules' intent is simply added.
        try assertSameAsBuilt(body: "e.intent = 'overridden'", expected: .mixed)
        try assertSameAsBuilt(body: "e.fired = nil", expected: .builtByRules)
        try assertSameAsBuilt(body: "e.concepts.added = 'x'", expected: .builtByRules)
        // What the C writer leaves to the host: a key it does not write itself, text that is not UTF-8.
        try assertSameAsBuilt(body: "e['clé'] = 1", expected: .fromText(each: 1))
        try assertSameAsBuilt(body: "e.note = 'caf\\xC3'", expected: .fromText(each: 1))
    }

    func testInsideOtherTablesAtAnyDepthAndInCycles() throws {
        try assertSameAsBuilt(body: "", result: "{ inner = e, list = { e, e } }", expected: .fromText(each: 3))
        try assertSameAsBuilt(body: "e.self = e", expected: .builtByWriter)
        for depth in 10...12 {
            try assertSameAsBuilt(body: "local t = e; for _ = 1, \(depth) do t = { t } end; e = { deep = t }", expected: .fromText(each: 1))
        }
        for depth in 13...14 {  // its members would be past the writer's depth
            try assertSameAsBuilt(body: "local t = e; for _ = 1, \(depth) do t = { t } end; e = { deep = t }", expected: .builtByWriter)
        }
        // Kept from one evaluation to the next (the first message has none before it).
        try assertSameAsBuilt(body: "local before = last; last = e", result: "{ now = e, before = before }", expected: .mixed)
    }

    /// At the writer's value budget: the rules add just so many keys that every value fits, or one more.
    func testAtTheValueBudget() throws {
        // `values(t)`: what the writer counts for a table's members (each value, and the values inside tables).
        let counting = """
            local function values(t)
              local n = 0
              for _, v in pairs(t) do n = n + 1 + (type(v) == "table" and values(v) or 0) end
              return n
            end
            local _, twin = words:breakdown(message.text)
            local room = \(LuaJSONWriter.valueBudget) - 1 - values(twin)
            """
        for spare in [1, 0] {  // every value written, by one or by none to spare
            try assertSameAsBuilt(body: counting + "for i = 1, room - \(spare) do e['k' .. i] = i end",
                                  expected: spare == 1 ? .fromText(each: 1) : .builtByWriter)
        }
        // Past the value budget the writer builds the table and keeps the values the built table's `next` gives
        // first (an order that differs from one Lua state to the next, so only what is kept can be compared).
        for crowded in [counting + "for i = 1, room + 1 do e['k' .. i] = i end", "for i = 1, 12000 do e['k' .. i] = i end"] {
            let plain = try storedTexts(rules(body: "", building: .first), sampleMessages)
            let deferred = try stored(rules(body: crowded, building: .never), sampleMessages)
            let built = try storedTexts(rules(body: crowded, building: .afterChanges), sampleMessages)
            XCTAssertEqual(deferred.writing.built, sampleMessages.count)
            for ((plainText, deferredText), builtText) in zip(zip(plain, deferred.texts), built) {
                guard case .object(let host)? = try? JSONParser.parse(plainText),
                      case .object(let kept)? = try? JSONParser.parse(deferredText),
                      case .object(let reference)? = try? JSONParser.parse(builtText) else { return XCTFail(deferredText) }
                // Which members fit depends on that order too (a member that is a table takes several values).
                XCTAssertGreaterThan(kept.count, 9000)
                XCTAssertEqual(kept.count, reference.count, accuracy: 20)
                for (key, value) in kept where !["evaluation_us", "rules_version", "urgency"].contains(key) {
                    XCTAssertEqual(value, host[key] ?? .integer(Int64(key.dropFirst()) ?? -1), key)
                }
            }
        }
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
              -- The next that pairs hands out, for a plain table or a read-only library, sees it built too.
              function(e) local next_of_pairs = pairs({}); return tostring(count(next_of_pairs, e)) end,
              function(e) local next_of_library = pairs(string); return tostring(count(next_of_library, e)) end,
              function(e) return tostring(pairs({}) == next) end,
              -- As the environment of a chunk, and as gsub's replacement table.
              function(e) return dump(load("extra = 1; return intent", "=chunk", "t", e)()) end,
              function(e) local ok, message = pcall(string.gsub, "fired", "%w+", e); return tostring(ok) .. tostring(message) end,
              -- Invalid keys are refused with the same message, where the assignment is.
              function(e) return select(2, pcall(function() e[nil] = 1 end)) end,
              function(e) return select(2, pcall(function() e[0/0] = 1 end)) end,
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
                local now, twin_now = dump(e), dump(twin)
                assert(now == twin_now, "way " .. number .. ": " .. now .. " ~= " .. twin_now)
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
