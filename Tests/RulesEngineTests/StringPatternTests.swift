import XCTest
@testable import RulesEngine

/// The bounded string.find/match/gmatch/gsub keep Lua 5.4's semantics (expected values from the manual).
final class StringPatternTests: XCTestCase {
    /// Evaluates the Lua expression `expression` (which yields a string) inside the sandbox.
    private func evaluate(_ expression: String) throws -> String? {
        let scorer = try scorer(urgency: "function score(message) return 1, { value = (\(expression)) } end")
        return try scorer.score(ScoringInput(text: "x")).breakdown?.rules["value"]?.stringValue
    }

    private func show(_ call: String) -> String {
        "(function(...) local t = table.pack(...) for i = 1, t.n do t[i] = tostring(t[i]) end return table.concat(t, ',') end)(\(call))"
    }

    func testFind() throws {
        XCTAssertEqual(try evaluate(show("string.find('hello world', 'o w')")), "5,7")
        XCTAssertEqual(try evaluate(show("string.find('hello world', '(o)(r)')")), "8,9,o,r")
        XCTAssertEqual(try evaluate(show("string.find('a.b', '.', 1, true)")), "2,2")
        XCTAssertEqual(try evaluate(show("string.find('hello', 'l', -2)")), "4,4")
        XCTAssertEqual(try evaluate(show("string.find('hello', 'xyz')")), "nil")
        XCTAssertEqual(try evaluate(show("string.find('hello', '', 10)")), "nil")
    }

    func testMatchWithClassesSetsAndAnchors() throws {
        XCTAssertEqual(try evaluate(show("('  trim  '):match('^%s*(.-)%s*$')")), "trim")
        XCTAssertEqual(try evaluate(show("('key=val'):match('(%w+)=(%w+)')")), "key,val")
        XCTAssertEqual(try evaluate(show("('x = 10'):match('()=()')")), "3,4")
        XCTAssertEqual(try evaluate(show("('[test]'):match('[%[%]]')")), "[")
        XCTAssertEqual(try evaluate(show("('a]b'):match('[]]')")), "]")
        XCTAssertEqual(try evaluate(show("('1234'):match('%d+$')")), "1234")
        XCTAssertEqual(try evaluate(show("('hello'):match('^ell')")), "nil")
        XCTAssertEqual(try evaluate(show("('a$b'):match('a$b')")), "a$b")
        XCTAssertEqual(try evaluate(show("('abc'):match('[^%a]')")), "nil")
    }

    func testBalancedFrontierAndBackReferences() throws {
        XCTAssertEqual(try evaluate(show("('f(a(b)c)d'):match('%b()')")), "(a(b)c)")
        XCTAssertEqual(try evaluate(show("('THE (quick) fox'):match('%f[%a]%a+', 5)")), "quick")
        XCTAssertEqual(try evaluate(show("('abcabc'):match('(abc)%1')")), "abc")
        XCTAssertEqual(try evaluate(show("('say \"hi\" now'):match('([\"\\']).-%1')")), "\"")
    }

    func testGmatchAndGsub() throws {
        XCTAssertEqual(try evaluate("(function() local t = {} for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do t[#t+1] = k .. v end return table.concat(t, ';') end)()"),
                       "a1;b2")
        XCTAssertEqual(try evaluate(show("('hello world'):gsub('o', '0')")), "hell0 w0rld,2")
        XCTAssertEqual(try evaluate(show("('hello world'):gsub('(%w+)', '<%1>')")), "<hello> <world>,2")
        XCTAssertEqual(try evaluate(show("('abc'):gsub('', '-')")), "-a-b-c-,4")
        XCTAssertEqual(try evaluate(show("('hello'):gsub('l', {l = 'L'})")), "heLLo,2")
        XCTAssertEqual(try evaluate(show("('hello'):gsub('%w+', string.upper)")), "HELLO,1")
        XCTAssertEqual(try evaluate(show("('aaa'):gsub('a', 'b', 2)")), "bba,2")
        XCTAssertEqual(try evaluate(show("('abc'):gsub('^a', 'x')")), "xbc,1")
    }

    func testMalformedPatternsAreClearErrors() throws {
        for (pattern, message) in [
            ("'%'", "malformed pattern (ends with '%')"), ("'[a'", "malformed pattern (missing ']')"),
            ("'(a'", "unfinished capture"), ("'()a)'", "invalid pattern capture"), ("'%1'", "invalid capture index %1"),
            ("'%f'", "missing '[' after '%f' in pattern"),
        ] {
            let scorer = try scorer(urgency: """
                function score(message)
                  if message.text == "attack" then return (string.find("abc", \(pattern))) and 1 or 0 end
                  return 1
                end
                """)
            XCTAssertEqual(scoringError(scorer, "attack")?.message, message, pattern)
        }
    }

    func testPcallCannotSwallowThePatternBudget() throws {
        var limits = EngineLimits()
        limits.instructionsPerEvaluation = 500_000
        let scorer = try scorer(urgency: """
            function score(message)
              if message.text == "attack" then
                while true do pcall(string.find, ("a"):rep(5000), ".-.-b") end
              end
              return 1
            end
            """, limits: limits)
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .instructionBudget)
        XCTAssertEqual(error?.line, 3)
    }
}
