import Foundation
import TestSupport
import XCTest

/// `urgencyiq score` and `urgencyiq --help`, run as processes.
final class ScoreCommandTests: XCTestCase {
    /// The seed's profile, for the tests that check its exact scores and breakdown.
    private static let seed = ["--rules", "rules/profiles/seed"]

    func testScoresOneMessage() throws {
        let result = try CommandRunner.run(["score"] + Self.seed + ["When will my loan be disbursed???"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, "4.5\n")
        let shipped = try CommandRunner.run(["score", "When will my loan be disbursed???"])
        XCTAssertEqual(shipped.output, "3.99\n", "the default profile: waiting for a loan (4), a question (-0.01)")
    }

    func testTheDefaultProfileExplainsItsIntentAndConcepts() throws {
        let result = try CommandRunner.run(["score", "--explain", "I'm not blocked, but why was my loan rejected?? asante"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.hasPrefix("urgency 4.0"), result.output)
        XCTAssertTrue(result.output.contains("intent         loan rejected (4)"), result.output)
        XCTAssertTrue(result.output.contains("set aside      access_problem — negated: blocked"), result.output)
        XCTAssertTrue(result.output.contains("rejected \"rejected\""), result.output)
        XCTAssertTrue(result.output.contains("also stated    question, thanks"), result.output)
        let json = try CommandRunner.run(["score", "--json", "what happens if my phone is stolen?"])
        let object = try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any]
        XCTAssertEqual(object?["urgency"] as? Double, 1.97, "a question (2), only a question (-0.02), a question (-0.01)")
        let setAside = object?["set_aside"] as? [String: Any] ?? [:]
        XCTAssertEqual(setAside["stolen_phone"] as? String, "hypothetical: stolen")
        XCTAssertEqual(object?["concepts"] as? [String: String], ["question": "what happens", "general_question": "what happens"])
    }

    func testExplainShowsTierModifiersAndLLM() throws {
        let result = try CommandRunner.run(["score", "--explain"] + Self.seed + ["Can I get batch number plz"])
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertTrue(result.output.hasPrefix("urgency 4.5"), result.output)
        XCTAssertTrue(result.output.contains("tier           high (4) — keyword \"batch number\""), result.output)
        XCTAssertTrue(result.output.contains("modifier       please +0.5"), result.output)
        XCTAssertTrue(result.output.contains("llm            skipped: disabled"), result.output)
    }

    func testJSONBreakdown() throws {
        let result = try CommandRunner.run(["score", "--json"] + Self.seed + ["I will pay in 3 days"])
        XCTAssertEqual(result.status, 0, result.errors)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        XCTAssertEqual(object?["urgency"] as? Double, 3.5)
        XCTAssertEqual((object?["tier"] as? [String: Any])?["keyword"] as? String, "i will pay")  // the longest keyword ending first
    }

    func testProfileIsSelectedWithRules() throws {
        let result = try CommandRunner.run(["score", "--rules", "rules/profiles/seed-variant", "Can I get batch number plz"])
        XCTAssertEqual(result.output, "4.0\n")  // the variant has no please modifier
    }

    func testCSVGainsAnUrgencyColumnAndKeepsQuotingBOMAndCRLF() throws {
        let input = try TemporaryFile([0xEF, 0xBB, 0xBF] + Array("id,message\r\n1,\"Why rejected, why??\"\r\n2,\"multi\r\nline thanks\"\r\n".utf8))
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path] + Self.seed)
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, "id,message,urgency\r\n1,\"Why rejected, why??\",5.0\r\n2,\"multi\r\nline thanks\",1.0\r\n")
    }

    /// Each row is written back byte for byte, its urgency put in the file's own `urgency` column (quoted or not,
    /// a short row padded with empty fields); quotes inside the message are read as one.
    func testCSVWritesEachRowBackAsItWasWithItsUrgency() throws {
        let input = try TemporaryFile("urgency,message,note\n\"9\",\"was \"\"charged\"\" twice, fraud\",\"x\"\n,hello\n7,\"  fraud  \",\n")
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path] + Self.seed)
        XCTAssertEqual(result.status, 0, result.errors)
        XCTAssertEqual(result.output, "urgency,message,note\n5.0,\"was \"\"charged\"\" twice, fraud\",\"x\"\n1.0,hello,\n5.0,\"  fraud  \",\n")
        let short = try TemporaryFile("id,message,urgency,note\n1,fraud\n")
        defer { short.remove() }
        XCTAssertEqual(try CommandRunner.run(["score", "--csv", short.path] + Self.seed).output, "id,message,urgency,note\n1,fraud,5.0,\n")
    }

    func testCSVWithAnotherColumnName() throws {
        let input = try TemporaryFile("text\nfraud\n")
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path, "--column", "text"])
        XCTAssertEqual(result.output, "text,urgency\nfraud,5.0\n")
    }

    func testMissingColumnIsAClearError() throws {
        let input = try TemporaryFile("id,body\n1,hi\n")
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertEqual(result.errors, "urgencyiq score: \(input.path):1: no message column: expected 'message' or 'Message Body' "
                       + "(the header has: id, body); name another with --column\n")
        let named = try CommandRunner.run(["score", "--csv", input.path, "--column", "text"])
        XCTAssertEqual(named.errors, "urgencyiq score: \(input.path):1: missing column 'text' (the header has: id, body)\n")
    }

    /// `score --llm` runs the LLM step against the configured endpoint (here a fake on loopback), as the server would.
    func testTheLLMStepRunsFromTheCommandLineOnlyWhenAsked() throws {
        let fake = try FakeOpenAIServer()
        defer { fake.stop() }
        fake.answerByDefault(.reply("1"))
        let environment = ["LLM_BASE_URL": fake.baseURL, "LLM_API_KEY": "sk-score-test", "OPENAI_API_KEY": ""]
        let keywords = try CommandRunner.run(["score", "Why was my loan rejected?"], environment: environment)
        XCTAssertEqual(keywords.output, "4.03\n")
        XCTAssertEqual(fake.requests.count, 0, "no model call without --llm")
        let blended = try CommandRunner.run(["score", "--llm", "Why was my loan rejected?"], environment: environment)
        XCTAssertEqual(blended.status, 0, blended.errors)
        let value = try XCTUnwrap(Double(blended.output.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertLessThan(value, 4.03, "the model's 1 pulls the blend down")
        XCTAssertEqual(fake.requests.count, 1)
        XCTAssertEqual(fake.requests.first?.headers["authorization"], "Bearer sk-score-test")
        let keyless = try CommandRunner.run(["score", "--llm", "hello"], environment: ["LLM_API_KEY": "", "OPENAI_API_KEY": ""])
        XCTAssertEqual(keyless.status, 2)
        XCTAssertTrue(keyless.errors.contains("--llm needs LLM_API_KEY"), keyless.errors)
    }

    /// The seed's own export (`User ID,Timestamp (UTC),Message Body`) is read without naming its column, by
    /// `score --csv` and by `check --diff --messages`.
    func testTheSeedsExportFormatNeedsNoFlags() throws {
        let input = try TemporaryFile("User ID,Timestamp (UTC),Message Body\n7,2025-01-15 10:30:00,Why was my loan rejected?\n")
        defer { input.remove() }
        let scored = try CommandRunner.run(["score", "--csv", input.path])
        XCTAssertEqual(scored.status, 0, scored.errors)
        XCTAssertEqual(scored.output, "User ID,Timestamp (UTC),Message Body,urgency\n7,2025-01-15 10:30:00,Why was my loan rejected?,4.03\n")
        let diff = try CommandRunner.run(["check", "--diff", "rules/profiles/seed", "--messages", input.path, "data/golden"])
        XCTAssertTrue(diff.output.contains("\(input.path):2"), diff.output + diff.errors)
    }

    func testAFileThatCannotBeOpenedSaysWhyWithoutALineNumber() throws {
        let missing = try CommandRunner.run(["score", "--csv", "/nonexistent/missing.csv"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertEqual(missing.errors, "urgencyiq score: /nonexistent/missing.csv: cannot open the file: No such file or directory\n")
        let folder = try CommandRunner.run(["score", "--csv", "/tmp"])
        XCTAssertEqual(folder.errors, "urgencyiq score: /tmp: is a directory, not a CSV file\n")
    }

    func testMalformedCSVNamesTheLine() throws {
        let input = try TemporaryFile("message\nfine\n\"never closed\nmore\n")
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.errors.contains("\(input.path):3: unterminated quoted field"), result.errors)
        XCTAssertTrue(result.output.hasPrefix("message,urgency\nfine,"), result.output)  // what came before, scored
    }

    func testLargeCSVStreams() throws {
        var text = "message\n"
        for i in 0..<50_000 { text += "\"message \(i), when will it be disbursed??\"\n" }
        let input = try TemporaryFile(text)
        defer { input.remove() }
        let result = try CommandRunner.run(["score", "--csv", input.path] + Self.seed)
        XCTAssertEqual(result.status, 0, result.errors)
        let lines = result.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 50_001)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0.hasSuffix(",4.5") })
        // Scored in batches on every core, written in input order.
        for (index, line) in lines.dropFirst().enumerated() where !line.hasPrefix("\"message \(index), ") {
            return XCTFail("line \(index + 2) out of order: \(line)")
        }
    }

    func testBrokenRulesExitWithStatusTwoAndTheLocation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-cli-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("function score(message)\n  return 1 +\nend\n".utf8).write(to: directory.appendingPathComponent("urgency.lua"))
        let result = try CommandRunner.run(["score", "--rules", directory.path, "hello"])
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(result.errors.contains("urgency.lua:3: syntax error: unexpected symbol near 'end'"), result.errors)
        // With --csv the rules load while the file is read; their error still comes first, and alone.
        let input = try TemporaryFile("message\nhello\n")
        defer { input.remove() }
        for file in [input.path, "/nonexistent/missing.csv"] {
            let csv = try CommandRunner.run(["score", "--rules", directory.path, "--csv", file])
            XCTAssertEqual(csv.status, 2, file)
            XCTAssertEqual(csv.output, "", file)
            XCTAssertTrue(csv.errors.hasPrefix("urgencyiq: cannot load the rules in \(directory.path): "), csv.errors)
            XCTAssertTrue(csv.errors.contains("urgency.lua:3: syntax error: unexpected symbol near 'end'"), csv.errors)
            XCTAssertFalse(csv.errors.contains("missing.csv"), csv.errors)
        }
    }

    func testHelpAndUsageErrors() throws {
        let help = try CommandRunner.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.output.contains("score"), help.output)
        let scoreHelp = try CommandRunner.run(["score", "--help"])
        XCTAssertEqual(scoreHelp.status, 0)
        XCTAssertTrue(scoreHelp.output.contains("--explain"), scoreHelp.output)
        let unknown = try CommandRunner.run(["score", "--bogus"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.errors.contains("unknown option --bogus"), unknown.errors)
        XCTAssertEqual(try CommandRunner.run(["frobnicate"]).status, 2)
    }
}
