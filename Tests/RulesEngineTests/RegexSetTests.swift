import Foundation
import XCTest
@testable import RulesEngine
import TestSupport

/// Large regex sets: a prefilter (Vectorscan) picks the candidates and PCRE2 confirms them; the answers must be
/// exactly those of every pattern run on its own, whatever the pattern (flags, Unicode, backreferences,
/// lookarounds, inline options) and the text (Unicode case partners such as ſ and K, newlines, emoji).
final class RegexSetTests: XCTestCase {
    private static let words = ["loan", "pay", "ka", "mpesa", "day", "id", "ok", "é", "ß", "σ", "Straße", "kelvin"]
    private static let classes = [#"\d"#, #"\w"#, #"\s"#, "[a-c]", "[^x]", ".", #"\W"#, "[[:alpha:]]"]
    private static let quantifiers = ["", "", "+", "*", "?", "{2}", "{1,3}"]

    private func randomPattern(_ generator: inout SeededGenerator) -> (source: String, flags: String) {
        func atom() -> String {
            switch Int.random(in: 0..<5, using: &generator) {
            case 0, 1: return RegexSetTests.words.randomElement(using: &generator)!
            case 2: return RegexSetTests.classes.randomElement(using: &generator)! + RegexSetTests.quantifiers.randomElement(using: &generator)!
            case 3: return "(\(RegexSetTests.words.randomElement(using: &generator)!)|\(RegexSetTests.words.randomElement(using: &generator)!))"
            default: return #"\b"# + RegexSetTests.words.randomElement(using: &generator)! + #"\b"#
            }
        }
        var parts = (0..<Int.random(in: 1...3, using: &generator)).map { _ in atom() }
        switch Int.random(in: 0..<12, using: &generator) {
        case 0: parts.insert("^", at: 0)
        case 1: parts.append("$")
        case 2: parts.append(#"(\w)\1"#)            // a backreference: PCRE2 alone, or a prefilter approximation
        case 3: parts.append("(?=\(atom()))")        // a lookahead
        case 4: parts.insert("(?i)", at: 0)          // an inline option: PCRE2 alone
        default: break
        }
        let joiner = Bool.random(using: &generator) ? ".*" : ""
        var flags = ""
        if Int.random(in: 0..<2, using: &generator) == 0 { flags += "i" }
        if Int.random(in: 0..<5, using: &generator) == 0 { flags += "s" }
        if Int.random(in: 0..<5, using: &generator) == 0 { flags += "m" }
        if Int.random(in: 0..<40, using: &generator) == 0 { flags += "x" }
        return (parts.joined(separator: joiner), flags)
    }

    private func randomText(_ generator: inout SeededGenerator) -> String {
        let alphabet = Array("aAbBcCkKsSlLoOnNpPyYdDiI 0123\n\u{E9}\u{C9}\u{DF}\u{17F}\u{212A}\u{3C3}\u{3A3}\u{F6}\u{D6}😡-?.\u{130}\u{131}")
        var text = String((0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        if Bool.random(using: &generator) { text += " " + RegexSetTests.words.randomElement(using: &generator)!.uppercased() }
        if Bool.random(using: &generator) { text = RegexSetTests.words.randomElement(using: &generator)! + " " + text }
        return text
    }

    func testAThousandRandomPatternsAgreeWithPCRE2OneByOne() throws {
        var generator = SeededGenerator(seed: 18)
        var specs: [(source: String, flags: String)] = []
        while specs.count < 1000 {
            let spec = randomPattern(&generator)
            if (try? RegexPattern(spec.source, flags: RegexPattern.Flags(spec.flags)!)) != nil { specs.append(spec) }
        }
        if let dump = ProcessInfo.processInfo.environment["UIQ_DUMP_SPECS"] {
            let lines = specs.map { RegexSet.prefilterSource($0.source) + "\t" + $0.flags + "\t" + (RegexSet.meansTheSameOnBytes(RegexSet.prefilterSource($0.source)) ? "bytes" : "utf8") }
            try lines.joined(separator: "\n").write(toFile: dump, atomically: true, encoding: .utf8)
        }
        let compiled = try specs.map { try RegexPattern($0.source, flags: RegexPattern.Flags($0.flags)!) }
        let set = RegexSet(compiled)
        XCTAssertGreaterThan(set.prefilteredCount, 500, "most patterns are judged by the prefilter")
        XCTAssertLessThan(set.prefilteredCount, 1000, "some are PCRE2's alone (inline options, x, caseless non-ASCII)")
        XCTAssertGreaterThan(set.bytePrefilteredCount, 100, "and some are judged on bytes")
        XCTAssertLessThan(set.bytePrefilteredCount, set.prefilteredCount)

        let list = specs.map { "  { [==[\($0.source)]==], \"\($0.flags)\" }," }.joined(separator: "\n")
        let scorer = try scorer(urgency: """
            local specs = {
            \(list)
            }
            local compiled, first40 = {}, {}
            for i, spec in ipairs(specs) do
              compiled[i] = assert(re.compile(spec[1], spec[2]))
              if i <= 40 then first40[i] = compiled[i] end
            end
            local set, small = re.set(compiled), re.set(first40)
            function score(message)
              local text = message.text
              local found = set:matches(text) or {}
              local got, bad = {}, {}
              for k, i in ipairs(found) do
                got[i] = true
                if k > 1 and found[k - 1] >= i then bad[#bad + 1] = "order" end
              end
              local mask = small:test(text)
              for i = 1, #compiled do
                local expected = compiled[i]:test(text) and true or false
                if expected ~= (got[i] == true) then bad[#bad + 1] = i; bad[#bad + 1] = expected and "expected" or "unexpected" end
                if i <= 40 and expected ~= (mask & (1 << (i - 1)) ~= 0) then bad[#bad + 1] = "mask " .. i end
              end
              return #bad, { bad = bad, found = #found }
            end
            """, limits: {
                var limits = EngineLimits()
                limits.instructionsPerEvaluation = 50_000_000
                return limits
            }())
        var matchedSomething = 0
        for _ in 0..<200 {
            let text = randomText(&generator)
            let result = try scorer.score(ScoringInput(text: text))
            let bad = (result.breakdown?.rules["bad"]?.arrayValue ?? []).map { $0.doubleValue.map { "\(specs[Int($0) - 1])" } ?? $0.jsonText }
            XCTAssertEqual(result.value, 0, "\(text.debugDescription): disagreeing patterns \(bad)")
            if (result.breakdown?.rules["found"]?.doubleValue ?? 0) > 0 { matchedSomething += 1 }
        }
        XCTAssertGreaterThan(matchedSomething, 50, "the texts exercise the patterns")
    }

    func testTheMaskIsForSetsOfUpToSixtyFourAndMatchesForAnySize() throws {
        let scorer = try scorer(urgency: """
            local many = {}
            for i = 1, 100 do many[i] = re.compile("w" .. i .. "x") end
            local set = re.set(many)
            function score(message)
              if message.text == "mask" then return (set:test("w7x")) end
              local hits = set:matches(message.text)
              return hits and #hits or 0, { hits = hits }
            end
            """)
        let both = try scorer.score(ScoringInput(text: "w7x and w99x"))
        XCTAssertEqual(both.value, 2)
        XCTAssertEqual(both.breakdown?.rules["hits"], [7, 99])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "nothing")).value, 0)
        XCTAssertEqual(scoringError(scorer, "mask")?.message.contains("use set:matches"), true)
    }

    /// Characters named by number (`\xe9` is é in UTF-8 mode, a lone byte on bytes) and caseless escapes beyond
    /// ASCII are never judged on bytes, or by the prefilter at all where PCRE2's case folding decides.
    func testEscapedCharactersAreNotJudgedOnBytes() throws {
        let sources = [#"caf\xe9"#, #"\x{e9}t\x{e9}"#, #"na[\xe0-\xff]ve"#, #"\x{17F}ure"#, "plain1", "plain2", "plain3", "plain4", "plain5"]
        let flags = ["", "", "", "i", "", "", "", "", ""]
        let patterns = try zip(sources, flags).map { try RegexPattern($0, flags: RegexPattern.Flags($1)!) }
        XCTAssertFalse(RegexSet.meansTheSameOnBytes(#"caf\xe9"#))
        XCTAssertFalse(RegexSet.prefilterable(patterns[3]), "caseless with an escape beyond ASCII")
        let list = zip(sources, flags).map { "  { [==[\($0)]==], \"\($1)\" }," }.joined(separator: "\n")
        let scorer = try scorer(urgency: """
            local specs = {
            \(list)
            }
            local compiled = {}
            for i, spec in ipairs(specs) do compiled[i] = assert(re.compile(spec[1], spec[2])) end
            local set = re.set(compiled)
            function score(message)
              local hits = set:matches(message.text) or {}
              return #hits, { hits = hits }
            end
            """)
        _ = patterns
        XCTAssertEqual(try scorer.score(ScoringInput(text: "un café")).breakdown?.rules["hits"], [1])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "été")).breakdown?.rules["hits"], [2])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "naïve")).breakdown?.rules["hits"], [3])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "SURE")).breakdown?.rules["hits"], [4], "ſ folds to s and S")
    }
}
