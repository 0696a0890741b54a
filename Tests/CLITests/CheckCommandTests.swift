import Foundation
import FoundationXML
import TestSupport
import XCTest

/// `urgencyiq check`, run as a process: exit codes, formats, filters, the diff.
final class CheckCommandTests: XCTestCase {
    private func withFixtures(_ text: String, _ body: (String) throws -> Void) throws {
        let file = try TemporaryFile(text)
        defer { file.remove() }
        try body(file.path)
    }

    func testShippedFixturesPass() throws {
        let result = try CommandRunner.run(["check"])
        XCTAssertEqual(result.status, 0, result.output + result.errors)
        XCTAssertTrue(result.output.contains("check: "), result.output)
        XCTAssertTrue(result.output.contains(" passed, 0 failed"), result.output)
        // The labelled sets are read too, each with its accuracy line and matrix.
        XCTAssertTrue(result.output.contains("data/labelled/holdout.csv\naccuracy: n="), result.output)
        XCTAssertTrue(result.output.contains("label \\ score"), result.output)
        let seed = try CommandRunner.run(["check", "--rules", "rules/profiles/seed", "data/profiles/seed"])
        XCTAssertEqual(seed.status, 0, seed.output + seed.errors)
    }

    func testFailuresNameFileAndLineShowValuesAndBreakdownAndExitOne() throws {
        try withFixtures("message,expected\nHello,1.0\nWhen will my loan be disbursed???,3.0\n") { path in
            let result = try CommandRunner.run(["check", "--rules", "rules/profiles/seed", path])
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.output.contains("\(path):3: FAIL \"When will my loan be disbursed???\""), result.output)
            XCTAssertTrue(result.output.contains("expected 3.0, got 4.5"), result.output)
            XCTAssertTrue(result.output.contains("modifier       repeated-question +0.5"), result.output)
            XCTAssertTrue(result.output.hasSuffix("check: 1 passed, 1 failed (rules \(try rulesVersion()))\n"), result.output)
        }
    }

    func testMalformedFixtureFileExitsTwoNamingTheLine() throws {
        try withFixtures("message,expected\nHello,1.0\nBye,soon\n") { path in
            let result = try CommandRunner.run(["check", path])
            XCTAssertEqual(result.status, 2)
            XCTAssertTrue(result.errors.contains("\(path):3: expected must be a number"), result.errors)
        }
    }

    func testBrokenRulesExitTwo() throws {
        let result = try CommandRunner.run(["check", "--rules", "/nonexistent"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.errors.contains("rules directory not found"), result.errors)
    }

    func testTagGrepAndVerbose() throws {
        try withFixtures("id,message,expected,tags\na,Hello,1.0,greeting\nb,fraud,5.0,critical\nc,Thanks,1.0,greeting polite\n") { path in
            let tagged = try CommandRunner.run(["check", "--tag", "greeting", "-v", path])
            XCTAssertEqual(tagged.status, 0)
            XCTAssertTrue(tagged.output.contains("[a] ok") && tagged.output.contains("[c] ok") && !tagged.output.contains("[b]"),
                          tagged.output)
            XCTAssertTrue(tagged.output.contains("check: 2 passed, 0 failed"), tagged.output)
            let grepped = try CommandRunner.run(["check", "--grep", "FRAUD", path])
            XCTAssertTrue(grepped.output.contains("check: 1 passed, 0 failed"), grepped.output)
        }
    }

    func testJSONAndJUnitFormats() throws {
        try withFixtures("message,expected\nHello,1.0\nfraud,1.0\n") { path in
            let json = try CommandRunner.run(["check", "--format", "json", path])
            XCTAssertEqual(json.status, 1)
            let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
            XCTAssertEqual(object?["passed"] as? Int, 1)
            XCTAssertEqual(((object?["failures"] as? [[String: Any]])?.first)?["got"] as? Double, 5.0)

            let junit = try CommandRunner.run(["check", "--format", "junit", path])
            XCTAssertEqual(junit.status, 1)
            XCTAssertTrue(XMLParser(data: Data(junit.output.utf8)).parse(), junit.output)
            XCTAssertTrue(junit.output.contains("failures=\"1\""), junit.output)
        }
    }

    func testDiffAgainstAnotherRuleSetWithAMessageFile() throws {
        try withFixtures("message\nCan I get batch number plz\nI am pleased\nHello\n") { messages in
            let result = try CommandRunner.run(["check", "--rules", "rules/profiles/seed-variant", "--diff", "rules/profiles/seed",
                                                "data/profiles/seed-variant", "--messages", messages])
            XCTAssertEqual(result.status, 0, result.errors)
            XCTAssertTrue(result.output.contains("\(messages):2: \"Can I get batch number plz\"\n  4.5 → 4.0 (-0.5)"), result.output)
            XCTAssertTrue(result.output.contains("\(messages):3: \"I am pleased\"\n  1.5 → 1.0 (-0.5)"), result.output)
            XCTAssertFalse(result.output.contains("\"Hello\""), result.output)
            XCTAssertTrue(result.output.contains("tiers (rows: old rules, columns: new rules):"), result.output)
            XCTAssertTrue(result.output.contains("urgency bands (rows: old, columns: new):"), result.output)
        }
    }

    private func rulesVersion() throws -> String {
        let json = try CommandRunner.run(["score", "--rules", "rules/profiles/seed", "--json", "x"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        return object?["rules_version"] as? String ?? "?"
    }

    func testLiveLLMCallsTheConfiguredModelOnlyWhenAsked() throws {
        let fake = try FakeOpenAIServer()
        defer { fake.stop() }
        fake.answerByDefault(.reply("2"))
        let fixtures = try TemporaryFile("message,expected,llm,llm_enabled\nHi,1.6,5,true\nThanks,1.0,,false\n")
        defer { fixtures.remove() }
        let environment = ["LLM_BASE_URL": fake.baseURL, "LLM_API_KEY": "sk-cli-test", "OPENAI_API_KEY": ""]

        let replayed = try CommandRunner.run(["check", fixtures.path], environment: environment)
        XCTAssertEqual(replayed.status, 1, "the recorded reply 5 gives 3.4, not 1.6")
        XCTAssertTrue(replayed.output.contains("expected 1.6"), replayed.output)
        XCTAssertEqual(fake.requests.count, 0, "check never calls a model without --live-llm")

        let live = try CommandRunner.run(["check", "--live-llm", fixtures.path], environment: environment)
        XCTAssertEqual(live.status, 0, live.output + live.errors)
        XCTAssertTrue(live.output.contains("check: 2 passed, 0 failed"), live.output)
        XCTAssertEqual(fake.requests.count, 1, "only the fixture with llm_enabled=true calls the model")
        XCTAssertEqual(fake.requests.first?.headers["authorization"], "Bearer sk-cli-test")

        let keyless = try CommandRunner.run(["check", "--live-llm", fixtures.path],
                                            environment: ["LLM_API_KEY": "", "OPENAI_API_KEY": ""])
        XCTAssertEqual(keyless.status, 2)
        XCTAssertTrue(keyless.errors.contains("--live-llm needs LLM_API_KEY"), keyless.errors)
    }
}
