import Foundation
import FoundationXML
import XCTest
@testable import RulesEngine

/// The fixture harness: parsing expectations and fixture files, running, reporting, diffing rule sets.
final class HarnessTests: XCTestCase {
    private func fixtures(_ text: String) throws -> [Fixture] {
        let file = try TemporaryDirectory()
        defer { file.remove() }
        try file.write("f.csv", text)
        return try FixtureLoader.load(file.path + "/f.csv").map { fixture in
            var fixture = fixture
            fixture.file = "f.csv"
            return fixture
        }
    }

    private func loadError(_ text: String) throws -> FixtureError? {
        let file = try TemporaryDirectory()
        defer { file.remove() }
        try file.write("f.csv", text)
        do {
            _ = try FixtureLoader.load(file.path + "/f.csv")
            XCTFail("expected the fixture file to be refused")
            return nil
        } catch {
            return FixtureError(file: "f.csv", line: error.line, message: error.message)
        }
    }

    func testExpectations() {
        XCTAssertEqual(Fixture.Expectation(parsing: "4.5"), .exactly(4.5, decimals: 1))
        XCTAssertEqual(Fixture.Expectation(parsing: "5"), .exactly(5, decimals: 1))
        XCTAssertEqual(Fixture.Expectation(parsing: "4.25"), .exactly(4.25, decimals: 2))
        XCTAssertEqual(Fixture.Expectation(parsing: " 3.5..5 "), .range(3.5, 5))
        XCTAssertNil(Fixture.Expectation(parsing: "high"))
        XCTAssertNil(Fixture.Expectation(parsing: "5..3"))
        XCTAssertNil(Fixture.Expectation(parsing: ""))
        XCTAssertNil(Fixture.Expectation(parsing: "nan"))
        XCTAssertTrue(Fixture.Expectation.exactly(4.2, decimals: 1).accepts(4.2000000000000002))
        XCTAssertTrue(Fixture.Expectation.exactly(4.2, decimals: 1).accepts(4.24))
        XCTAssertFalse(Fixture.Expectation.exactly(4.2, decimals: 1).accepts(4.26))
        XCTAssertTrue(Fixture.Expectation.range(3.5, 5).accepts(3.5))
        XCTAssertFalse(Fixture.Expectation.range(3.5, 5).accepts(3.4))
    }

    func testFixtureColumns() throws {
        let loaded = try fixtures("id,message,expected,llm,llm_enabled,tags,note\nx1,\"Hi, there\",3.4,5,true,llm blend,why\n,Bye,1,,,,\n")
        XCTAssertEqual(loaded.count, 2)
        XCTAssertEqual(loaded[0], Fixture(file: "f.csv", line: 2, id: "x1", message: "Hi, there", expected: .exactly(3.4, decimals: 1),
                                          llmReply: "5", llmEnabled: true, tags: ["llm", "blend"], note: "why"))
        XCTAssertNil(loaded[1].id)
        XCTAssertNil(loaded[1].llmReply)
        XCTAssertFalse(loaded[1].llmEnabled)
    }

    func testMalformedFixtureFilesNameFileAndLine() throws {
        XCTAssertEqual(try loadError("message,expected\nok,1\n\"open,1\n"),
                       FixtureError(file: "f.csv", line: 3, message: "unterminated quoted field (opened on line 3)"))
        XCTAssertEqual(try loadError("message,score\nhi,1\n"),
                       FixtureError(file: "f.csv", line: 1, message: "missing column 'expected' (the header has: message, score)"))
        XCTAssertEqual(try loadError("message,expected\nhi,1\nhello,high\n"),
                       FixtureError(file: "f.csv", line: 3, message: "expected must be a number such as 4.5 or a range such as 3.5..5, got 'high'"))
        XCTAssertEqual(try loadError(""), FixtureError(file: "f.csv", line: 1, message: "empty file: expected a header row"))
        XCTAssertEqual(try loadError("message,expected,llm_enabled\nhi,1,maybe\n"),
                       FixtureError(file: "f.csv", line: 2, message: "llm_enabled must be true or false, got 'maybe'"))
    }

    func testMissingPathIsAnError() {
        XCTAssertThrowsError(try FixtureLoader.files(in: ["/nonexistent/fixtures"])) { error in
            XCTAssertEqual("\(error)", "/nonexistent/fixtures: no such file or directory")
        }
    }

    func testRunnerReplaysTheRecordedLLMReplyAndExplainsFailures() throws {
        let scorer = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        let loaded = try fixtures("message,expected,llm,llm_enabled\nHi,3.4,5,true\nHi,4.0,5,true\nHi,1.0,5,false\n")
        let results = FixtureRunner(scorer: scorer).run(loaded)
        XCTAssertEqual(results.map(\.passed), [true, false, true])
        XCTAssertEqual(results[1].score, 3.4)
        XCTAssertEqual(results[1].breakdown?.rules["llm"], ["used": true, "score": 5, "reply": "5"])
        XCTAssertNil(results[0].breakdown)
    }

    func testRuleErrorsCountAsFailures() throws {
        let scorer = try scorer(urgency: "function score(m) if m.text == 'boom' then error('boom') end return 1 end")
        let results = FixtureRunner(scorer: scorer).run(try fixtures("message,expected\nboom,1\nfine,1\n"))
        XCTAssertEqual(results.map(\.passed), [false, true])
        XCTAssertEqual(results[0].error?.message, "boom")
    }

    func testReportsInEveryFormat() throws {
        let scorer = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        let loaded = try fixtures("id,message,expected,tags\na,Hi,1.0,x\nb,\"fraud \u{1}<&>\",2.0,y\n")
        let report = CheckReport(results: FixtureRunner(scorer: scorer).run(loaded), rulesVersion: scorer.rulesVersion)
        XCTAssertEqual(report.summary, "check: 1 passed, 1 failed")

        let text = report.text(verbose: false)
        XCTAssertTrue(text.contains("f.csv:3: [b] FAIL \"fraud \\u0001<&>\""), text)
        XCTAssertTrue(text.contains("expected 2.0, got 5.0"), text)
        XCTAssertTrue(text.contains("tier           critical (5) — keyword \"fraud\""), text)
        XCTAssertFalse(text.contains("[a]"), text)
        XCTAssertTrue(report.text(verbose: true).contains("f.csv:2: [a] ok"))

        let json = report.json(verbose: true)
        XCTAssertEqual(json["failed"], 1)
        XCTAssertEqual(json["failures"]?.arrayValue?.first?["got"], 5.0)
        XCTAssertEqual(json["passes"]?.arrayValue?.count, 1)

        let junit = report.junit()
        let parser = XMLParser(data: Data(junit.utf8))
        XCTAssertTrue(parser.parse(), "JUnit XML does not parse: \(parser.parserError.map { "\($0)" } ?? "")\n\(junit)")
        XCTAssertTrue(junit.contains("<testsuites name=\"urgencyiq check\" tests=\"2\" failures=\"1\">"), junit)
        XCTAssertTrue(junit.contains("<failure message=\"expected 2.0, got 5.0\">"), junit)
    }

    func testDiffListsChangesWithBreakdownsAndMatrices() throws {
        let old = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        let new = try scorer(urgency: "function score(m) local s = m.text:find('fraud') and 5 or 1 return s, { tier = { name = s == 5 and 'critical' or 'minimal' } } end")
        let cases = ["fraud", "Why rejected", "Hi", "I will pay on sunday"].enumerated().map {
            RulesDiff.Case(source: "m.csv:\($0.offset + 2)", message: $0.element, options: ScoringOptions())
        }
        let diff = RulesDiff.compare(cases, old: old, new: new)
        XCTAssertEqual(diff.total, 4)
        XCTAssertEqual(diff.changes.map(\.message), ["Why rejected", "I will pay on sunday"])
        XCTAssertEqual(diff.changes.map(\.shift), [-4, -2])
        XCTAssertEqual(diff.meanShiftOfChanges, -3)
        XCTAssertEqual(diff.meanShift, -1.5)
        XCTAssertEqual(diff.tierMatrix["high"]?["minimal"], 1)
        XCTAssertEqual(diff.tierMatrix["critical"]?["critical"], 1)
        XCTAssertEqual(diff.bandMatrix["5"]?["1"], 1)
        let text = diff.text()
        XCTAssertTrue(text.contains("m.csv:3: \"Why rejected\"\n  5.0 → 1.0 (-4)"), text)
        XCTAssertTrue(text.contains("diff: 2 of 4 messages change score (mean shift -3 on those, -1.5 over all)"), text)
        XCTAssertEqual(diff.json["changed"], 2)
    }
}
