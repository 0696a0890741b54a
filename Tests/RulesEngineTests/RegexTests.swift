import CLuaHost
import XCTest
@testable import RulesEngine
import Support

/// The `re` module: Python `re` semantics through PCRE2, and the ASCII fast path giving the same answers.
final class RegexTests: XCTestCase {
    private func matches(_ pattern: String, _ flags: String, _ text: String) throws -> Bool {
        let scorer = try scorer(urgency: """
            local p = re.compile(\(JSONValue.string(pattern).jsonText), \(JSONValue.string(flags).jsonText))
            function score(message) return p:test(message.text) and 1 or 0 end
            """)
        return try scorer.score(ScoringInput(text: text)).value == 1
    }

    func testUnicodeWordBoundariesDigitsAndSpaces() throws {
        XCTAssertTrue(try matches(#"\bcant\b"#, "i", "naïve cant"))
        XCTAssertFalse(try matches(#"\bcant\b"#, "i", "écant"))          // é is a word character
        XCTAssertTrue(try matches(#"\d+\s*days"#, "i", "٣ days"))         // Arabic-Indic digit
        XCTAssertTrue(try matches(#"\d+\s*days"#, "i", "3\u{2003}days"))  // em space
        XCTAssertTrue(try matches(#"PLEASE"#, "i", "pleaſe"))             // long s folds to s, as in Python
        XCTAssertFalse(try matches(#"a.b"#, "", "a\nb"))                   // dot stops at newline
        XCTAssertTrue(try matches(#"a.b"#, "", "a\rb"))
        XCTAssertTrue(try matches(#"a.b"#, "s", "a\nb"))
    }

    func testASCIIVariantAgreesWithUnicodeVariantOnASCIIText() throws {
        let patterns = [
            #"\b(can'?t|cannot|unable to)\b"#, #"\b(why|what|when)\b.*\b(rejected|denied|blocked)\b"#,
            #"\b\d+\s*(days?|weeks?|months?)\b"#, #"\?{2,}"#, #"PLEASE|PLZ|PLS"#, #"[[:alpha:]]+\W\w"#, #"(?i)K\b"#,
        ]
        let alphabet = Array("ab cant why rejected 12 days? PLZ k\n\t'")
        var generator = SystemRandomNumberGenerator()
        for source in patterns {
            for flags in ["", "i"] {
                let flagSet = RegexPattern.Flags(flags)!
                let pattern = try RegexPattern(source, flags: flagSet)
                XCTAssertNotNil(pattern.asciiCode, source)
                let scratch = try LuaState(memoryLimit: 1 << 20, regexMatchLimit: 100_000, regexDepthLimit: 10_000)
                for _ in 0..<300 {
                    let text = String((0..<Int.random(in: 0...40)).map { _ in alphabet.randomElement(using: &generator)! })
                    let bytes = Array(text.utf8)
                    let host = uiq_host_of_state(scratch)
                    let ascii = bytes.withUnsafeBytes {
                        uiq_regex_match(host, pattern.native, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, 0, 1, 1)
                    }
                    let unicode = bytes.withUnsafeBytes {
                        uiq_regex_match(host, pattern.native, $0.baseAddress?.assumingMemoryBound(to: CChar.self), $0.count, 0, 1, 0)
                    }
                    XCTAssertEqual(ascii >= 0, unicode >= 0, "\(source) /\(flags) on \(text.debugDescription)")
                }
            }
        }
    }

    func testNonASCIIPatternsHaveNoASCIIVariant() throws {
        let pattern = try RegexPattern("caf\u{E9}", flags: RegexPattern.Flags("i")!)
        XCTAssertNil(pattern.asciiCode)
    }

    func testFindMatchAndSets() throws {
        let scorer = try scorer(urgency: """
            local p = re.compile([[(\\d+)\\s*(days?)]], "i")
            local set = re.set{ re.compile("a"), re.compile("b"), re.compile("c") }
            function score(message)
              local s, e = p:find(message.text)
              local n, unit = p:match(message.text)
              local hits = set:test(message.text)
              return hits, { s = s, e = e, n = n, unit = unit }
            end
            """)
        let score = try scorer.score(ScoringInput(text: "wait 12 Days cab"))
        XCTAssertEqual(score.value, 7)  // a, b and c all occur: bits 0, 1, 2
        XCTAssertEqual(score.breakdown?.rules["s"], .integer(6))
        XCTAssertEqual(score.breakdown?.rules["e"], .integer(12))
        XCTAssertEqual(score.breakdown?.rules["n"], "12")
        XCTAssertEqual(score.breakdown?.rules["unit"], "Days")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "xyz")).value, 0)
    }

    func testBadFlagsAndPatternsAreClearErrors() {
        XCTAssertEqual(loadError(["urgency.lua": "re.compile('x', 'q')\nfunction score() return 1 end"])?.message,
                       "re.compile: unknown flag in 'q' (use i, m, s, x)")
        XCTAssertEqual(loadError(["urgency.lua": "re.set{ 'not compiled' }\nfunction score() return 1 end"])?.message,
                       "re.set: item 1 is not a compiled pattern (use re.compile)")
    }

    func testInvalidUTF8FromRulesIsAnError() throws {
        let scorer = try scorer(urgency: """
            local p = re.compile("x")
            function score(message)
              if message.text == "attack" then return p:test("\\255x") and 1 or 0 end
              return 1
            end
            """)
        XCTAssertTrue(scoringError(scorer, "attack")?.message.hasPrefix("re: UTF-8 error") ?? false)
    }
}

/// The bookkeeping of a test's Lua state (for calling the C regex entry point directly).
private func uiq_host_of_state(_ state: LuaState) -> UnsafeMutablePointer<uiq_host> { uiq_host_of(state.raw) }
