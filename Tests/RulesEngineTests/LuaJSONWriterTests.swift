import XCTest
import CLua
@testable import RulesEngine
import Support

/// `LuaJSONWriter` writes a breakdown table as the same JSON text the `JSONValue` path gives (`LuaStack.json`,
/// then `Breakdown.json`), on hostile tables and on every breakdown the shipped rules give, and a breakdown kept
/// as that text reads, merges and changes like one kept as values.
final class LuaJSONWriterTests: XCTestCase {
    /// The rules' part of a breakdown the old way: the value converted to a `JSONValue`, then made an object.
    private func valuesPath(_ state: LuaState) -> [String: JSONValue] {
        let stack = LuaStack(state.raw)
        guard !stack.isNoneOrNil(at: -1) else { return [:] }
        var budget = LuaJSONWriter.valueBudget
        switch stack.json(at: -1, budget: &budget) {
        case .object(let object): return object
        case .null: return [:]
        case let other: return ["explanation": other]
        }
    }

    /// Runs `source` (a chunk returning one value) and compares the two ways of writing the value.
    /// Returns whether the C writer wrote it (rather than the `JSONValue` way).
    @discardableResult
    private func assertSameJSON(_ source: String, file: StaticString = #filePath, line: UInt = #line) throws -> Bool {
        let state = try LuaState(memoryLimit: 64 << 20, regexMatchLimit: 100_000, regexDepthLimit: 10_000)
        try state.runChunk(source, chunkName: "=table", arguments: 0, results: 1, budget: 50_000_000)
        let writer = LuaJSONWriter()
        let written = writer.breakdown(state.raw, at: -1)
        XCTAssertEqual(state.top, 1, "the writer leaves the stack as it found it", file: file, line: line)
        let expected = JSONValue.object(valuesPath(state)).jsonText
        XCTAssertEqual(written.text, expected, source, file: file, line: line)
        // Merged with the host's fields, as a stored breakdown is.
        let values = valuesPath(state)
        for error in [nil, "boom"] as [String?] {
            let fromText = Breakdown(urgency: 3.25, rulesVersion: "v1", evaluationMicroseconds: 12.34, rulesText: written, error: error)
            let fromValues = Breakdown(urgency: 3.25, rulesVersion: "v1", evaluationMicroseconds: 12.34, rules: values, error: error)
            XCTAssertEqual(fromText.jsonText, fromValues.json.jsonText, source, file: file, line: line)
        }
        // The members' positions are where the text says.
        for member in written.members {
            XCTAssertEqual(written.bytes[member.start], UInt8(ascii: "\""), file: file, line: line)
            XCTAssertEqual(written.bytes[member.keyEnd], UInt8(ascii: ":"), file: file, line: line)
            XCTAssertTrue([UInt8(ascii: ","), UInt8(ascii: "}")].contains(written.bytes[member.end]), file: file, line: line)
        }
        return writer.valuesPathCount == 0
    }

    func testWritesWhatTheValuesPathWrites() throws {
        let cases = [
            "return nil",
            "return {}",
            "return {1, 2, 3}",
            "return 'just a string'",
            "return 42",
            "return 4.5",
            "return true",
            "return function() end",
            "return { a = 1, b = 2.0, c = -0.0, d = 0/0, e = 1/0, f = -1/0, g = 1e-5, h = 1e300, i = -9223372036854775807 - 1 }",
            "return { z = 1, y = { x = { w = { 'deep' } } }, [1] = 'one', [2.5] = 'two and a half', [true] = 'yes' }",
            "return { [1] = 'number key', ['1'] = 'string key' }",
            "return { ['1'] = 'string key', [1] = 'number key', [2] = 'two' }",
            "return { 'a', nil, 'c' }",
            "return { [1] = 'a', [3] = 'c' }",
            // As many keys as the length (3) says, but not 1...n: started as a list, undone, written as an object.
            "return { 'a', nil, 'c', x = 1 }",
            "local t = { { a = 1, b = { 2 } }, nil, 'z', k = { d = 4, e = 'é' } }; return { t = t, u = t }",
            // ... with the value budget spent before the hole: still an object (keys not read decide).
            "local big = {}; for i = 1, 12000 do big[i] = i end; return { big, nil, 'c', x = 1 }",
            "local big = {}; for i = 1, 12000 do big[i] = i end; return { list = { big, 'b', 'c' } }",
            "return { n = 0, list = {}, empty = {} }",
            "return { quote = 'a \"quoted\" word', slash = 'back\\\\slash', control = 'tab\\tnew\\nline\\r\\1\\31', del = '\\127' }",
            "return { ['key \"with\" quotes'] = 1, ['key\\nwith\\nnewlines'] = 2, ['\\0'] = 3 }",
            "return { bad = 'caf\\xe9 \\xff\\xfe ok', ['\\xffkey'] = 1, emoji = '😀 naïve' }",
            "return { ['é'] = 'precomposed', ['e\\u{301}'] = 'decomposed', ['zeta'] = 1, ['Ω'] = 2, ['a'] = 3 }",
            "local f = function() end; return { f = f, [f] = 'function key', [{}] = 'table key', [false] = 'false key' }",
            "local t = { name = 'loop' }; t.self = t; t.list = { t, t }; return t",
            "local t = {}; local c = t; for i = 1, 40 do c.next = {}; c = c.next end; return t",
            "local t = {}; for i = 1, 20000 do t[i] = i end; return { big = t, after = 'x' }",
            "local t = {}; for i = 1, 6000 do t['k' .. i] = { i, i * 0.5 } end; return t",
            "local t = {}; for i = 1, 200 do t[i] = { name = 'n' .. i, add = i / 7 } end; return { modifiers = t }",
            "return { urgency = 'the rules say', rules_version = 'theirs', evaluation_us = -1, error = 'theirs', keep = 1 }",
            "return { aaa = 1, urgency2 = 2, urgenc = 3, rules = 4, rules_versio = 5, evaluation = 6, ['error '] = 7, ['~'] = 8 }",
            // Keys that are prefixes of others, followed by bytes below and above the closing quote's.
            "return { a = 1, ['a b'] = 2, ['a!'] = 3, ['a#'] = 4, ab = 5, ['a\"'] = 6 }",
            "return { urgency = 'x', ['urgency x'] = 1, ['urgency!'] = 2, urgency_ = 3, error = 4, ['error b'] = 5 }",
            // A key Swift orders by its canonical form (KELVIN SIGN as K), beside the host's names.
            "return { ['\\u{212A}'] = 1, urgency = 2, error = 3, K = 4, ['Å'] = 5, ['\\u{212B}'] = 6 }",
            // Objects big enough to be sorted the other way (over 16 members), and one whose text lands on the
            // writer's first buffer size (512 bytes), where the sorted copy must still fit.
            "local t = {}; for i = 10, 81 do t['k' .. i] = 1 end; return t",
            "local t = {}; for i = 1, 300 do t['key' .. (i * 7919 % 1000)] = i end; t.key5 = 'last'; return { big = t }",
            "local t = {}; for n = 1, 120 do t['m' .. n] = n end; return { nested = { t, t } }",
        ]
        var written = 0
        for source in cases where try assertSameJSON(source) { written += 1 }
        XCTAssertGreaterThan(written, cases.count - 6, "the C writer wrote all but the non-ASCII keys and text")
        // What the C writer leaves to the host: text that is not UTF-8, keys that are not plain ASCII.
        XCTAssertFalse(try assertSameJSON("return { 'caf\\xe9' }"))
        XCTAssertFalse(try assertSameJSON("return { ['é'] = 1 }"))
        XCTAssertFalse(try assertSameJSON("return { ['a\\nb'] = 1 }"))
        XCTAssertTrue(try assertSameJSON("return { a = 'é \\n \\0 \\\"' }"))
    }

    /// Random tables of every kind of key and value, nested, with holes.
    func testRandomTables() throws {
        var generator = SystemRandomNumberGenerator()
        let keys = ["'a'", "'b'", "'urgency'", "'llm'", "'error'", "1", "2", "3", "'1'", "2.5", "-1", "true",
                    "'caf\\xe9'", "'é'", "'q\"uote'", "'\\n'", "'Z'", "'_'"]
        let leaves = ["1", "-7", "0.1", "1/3", "2^53", "0/0", "'x'", "'\\xff'", "true", "false", "'\\t'", "function() end", "{}"]
        func value(_ depth: Int) -> String {
            if depth > 3 || Int.random(in: 0..<3, using: &generator) == 0 { return leaves.randomElement(using: &generator)! }
            let count = Int.random(in: 0...6, using: &generator)
            if Bool.random(using: &generator) {
                return "{" + (0..<count).map { _ in value(depth + 1) }.joined(separator: ", ") + "}"
            }
            return "{" + (0..<count).map { _ in "[\(keys.randomElement(using: &generator)!)] = \(value(depth + 1))" }
                .joined(separator: ", ") + "}"
        }
        var written = 0
        for _ in 0..<400 where try assertSameJSON("return " + value(0)) { written += 1 }
        XCTAssertGreaterThan(written, 40, "some random tables have only plain keys and UTF-8 text")
    }

    /// Every breakdown the shipped profiles give on the labelled messages: the text is the values path's.
    func testShippedRulesBreakdowns() throws {
        let messages = try labelledMessages()
        XCTAssertGreaterThan(messages.count, 500)
        for rules in [Repository.rules, Repository.seedRules] {
            let scorer = try Scorer(rulesDirectory: rules, log: DiscardingLogSink())
            for (n, text) in messages.enumerated() {
                let score = try scorer.score(ScoringInput(text: text, customerID: Int64(n)), options: ScoringOptions(explain: true))
                let breakdown = try XCTUnwrap(score.breakdown)
                let asValues = Breakdown(urgency: breakdown.urgency, rulesVersion: breakdown.rulesVersion,
                                         evaluationMicroseconds: breakdown.evaluationMicroseconds, rules: breakdown.rules)
                XCTAssertEqual(breakdown.jsonText, asValues.json.jsonText, text)
                XCTAssertEqual(try JSONParser.parse(breakdown.jsonText), breakdown.json, text)
            }
        }
    }

    /// `rule` and `setRule` on a breakdown kept as text: one field read or replaced, the rest unchanged.
    func testReadsAndSetsOneField() throws {
        let state = try LuaState(memoryLimit: 1 << 20, regexMatchLimit: 100_000, regexDepthLimit: 10_000)
        try state.runChunk("return { intent = { name = 'fraud', level = 5 }, llm = { used = false, skipped = 'disabled' }, z = 'last' }",
                           chunkName: "=table", arguments: 0, results: 1, budget: 1_000_000)
        let writer = LuaJSONWriter()
        var text = Breakdown(urgency: 5, rulesVersion: "v", evaluationMicroseconds: 1, rulesText: writer.breakdown(state.raw, at: -1))
        var values = Breakdown(urgency: 5, rulesVersion: "v", evaluationMicroseconds: 1, rules: text.rules)
        XCTAssertEqual(text.rule("llm"), ["used": false, "skipped": "disabled"])
        XCTAssertEqual(text.rule("intent")?["level"], .integer(5))
        XCTAssertNil(text.rule("missing"))
        for (key, value) in [("llm", ["state": "skipped", "used": false] as JSONValue), ("a_first", 1.5), ("zz", "end"), ("middle", [])] {
            text.setRule(key, to: value)
            values.setRule(key, to: value)
            XCTAssertEqual(text.jsonText, values.jsonText)
            XCTAssertEqual(text.rule(key), value)
        }
        XCTAssertEqual(text, values)
        XCTAssertEqual(text.rules.count, 6)
    }

    /// Every message of the labelled sets, the golden fixtures and the sample data, plus hostile ones.
    private func labelledMessages() throws -> [String] {
        try Repository.everyMessage() + ["", " ", "\u{0}", "a\"b\\c", "🙂", String(repeating: "urgent fraud not ", count: 300)]
    }
}
