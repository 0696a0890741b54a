import Foundation
import FoundationXML
import TestSupport
import XCTest

/// `urgencyiq check` on labelled sets, run as a process: the accuracy line and confusion matrix, the
/// `--min-pairwise` / `--min-exact` / `--max-mae` flags and `thresholds.conf` (exit 1 naming the figure that fell),
/// the figures in JSON and JUnit, `--diff` showing both rule sets' accuracy and the messages that moved, and
/// `--coverage` counting what fired and what never did.
///
/// The labelled set is five messages whose levels the default profile (`rules`) gets exactly and the seed's
/// profile (`rules/profiles/seed`) does not: the seed scores them 5, 1, 1, 1, 3 for labels 4, 1, 2, 5, 3 —
/// mae (1 + 0 + 1 + 4 + 0) / 5 = 1.2; exact 2 of 5; within one level 4 of 5; of the 10 pairs of labels, five
/// are ordered right (1–3, 1–4, 2–3, 2–4, 3–4), three tied at 1 count half (1–2, 1–5, 2–5) and two are
/// reversed (3–5, 4–5): 6.5 of 10 = 0.65.
final class AccuracyCheckTests: XCTestCase {
    private var directory: URL!
    private var labelled: String { directory.appendingPathComponent("labelled.csv").path }

    private static let set = """
        message,label
        Why was my loan rejected?,4
        thank you so much,1
        what is my loan limit,2
        someone stole my phone,5
        I will pay on friday,3

        """

    private static let seedLine = "accuracy: n=5 mae=1.200 exact=0.400 within1=0.800 pairwise=0.650"
    /// The default profile's levels are all exact; its small steps within a level put the rejection at 4.03 and the
    /// limit question at 1.98: mae 0.05 / 5 = 0.010.
    private static let defaultLine = "accuracy: n=5 mae=0.010 exact=1.000 within1=1.000 pairwise=1.000"

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-accuracy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try write(Self.set, to: "labelled.csv")
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ text: String, to name: String) throws {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func check(_ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run(["check"] + arguments)
    }

    private func json(_ result: CommandRunner.Result, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return try XCTUnwrap(object, "not a JSON object: \(result.output)", file: file, line: line)
    }

    func testALabelledSetPrintsItsAccuracyLineAndMatrix() throws {
        let good = try check([directory.path])
        XCTAssertEqual(good.status, 0, good.output + good.errors)
        XCTAssertTrue(good.output.contains("""
            \(labelled)
            \(Self.defaultLine)
              label \\ score     1     2     3     4     5
              1                 1     0     0     0     0
              2                 0     1     0     0     0
              3                 0     0     1     0     0
              4                 0     0     0     1     0
              5                 0     0     0     0     1

            """), good.output)
        XCTAssertTrue(good.output.hasSuffix("check: 0 passed, 0 failed (rules \(try rulesVersion("rules")))\n"),
                      "a labelled set without expectations has no pass/fail fixtures: \(good.output)")

        let seed = try check(["--rules", "rules/profiles/seed", labelled])
        XCTAssertEqual(seed.status, 0, "no thresholds: the figures are reported, nothing fails\n" + seed.output + seed.errors)
        XCTAssertTrue(seed.output.contains("\(Self.seedLine)\n"), seed.output)
        XCTAssertTrue(seed.output.contains("  5                 1     0     0     0     0\n"), "the stolen phone, labelled 5, scored 1: \(seed.output)")
        XCTAssertFalse(seed.output.contains("accuracy below its threshold"), seed.output)
    }

    func testThresholdFlagsExitOneWhenMissedAndSayWhichFigureFell() throws {
        let seed = ["--rules", "rules/profiles/seed", labelled]
        for (flag, value, miss) in [("--min-pairwise", "0.9", "pairwise 0.650 is below the minimum 0.900"),
                                    ("--min-exact", "0.5", "exact 0.400 is below the minimum 0.500"),
                                    ("--max-mae", "1.0", "mae 1.200 is above the maximum 1.000")] {
            let missed = try check([flag, value] + seed)
            XCTAssertEqual(missed.status, 1, "\(flag) \(value): \(missed.output)\(missed.errors)")
            XCTAssertTrue(missed.output.contains("accuracy below its threshold: \(labelled): \(miss)\n"), missed.output)
            XCTAssertEqual(missed.output.components(separatedBy: "accuracy below its threshold").count, 2, "only \(flag) fell: \(missed.output)")
        }
        let all = try check(["--min-pairwise", "0.9", "--min-exact", "0.5", "--max-mae", "1.0"] + seed)
        XCTAssertEqual(all.status, 1)
        XCTAssertEqual(all.output.components(separatedBy: "accuracy below its threshold").count, 4, all.output)

        // Met, to the figure: 0.65, 0.4 and 1.2 are kept.
        let met = try check(["--min-pairwise", "0.65", "--min-exact", "0.4", "--max-mae", "1.2"] + seed)
        XCTAssertEqual(met.status, 0, met.output + met.errors)
        XCTAssertFalse(met.output.contains("below its threshold"), met.output)
        // The default profile keeps the strictest thresholds.
        let strict = try check(["--min-pairwise", "1", "--min-exact", "1", "--max-mae", "0.02", labelled])
        XCTAssertEqual(strict.status, 0, strict.output + strict.errors)

        let bad = try check(["--min-pairwise", "high"] + seed)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.errors.contains("--min-pairwise must be a number, got 'high'"), bad.errors)
        XCTAssertEqual(try check(["--max-mae", "-1"] + seed).status, 2)
    }

    func testThresholdsConfBesideTheSetAndFlagsOverridingIt() throws {
        try write("# what this set must keep\nmin_pairwise = 0.9\nmax_mae = 1.5\n", to: "thresholds.conf")
        let refused = try check(["--rules", "rules/profiles/seed", labelled])
        XCTAssertEqual(refused.status, 1, refused.output + refused.errors)
        XCTAssertTrue(refused.output.contains("accuracy below its threshold: \(labelled): pairwise 0.650 is below the minimum 0.900\n"),
                      refused.output)
        XCTAssertFalse(refused.output.contains("mae 1.200"), "mae is within its maximum: \(refused.output)")
        XCTAssertEqual(try check([labelled]).status, 0, "the default profile keeps them")

        let overridden = try check(["--rules", "rules/profiles/seed", "--min-pairwise", "0.6", labelled])
        XCTAssertEqual(overridden.status, 0, "the flag overrides the file: \(overridden.output)")
        let stricter = try check(["--rules", "rules/profiles/seed", "--max-mae", "1", labelled])
        XCTAssertEqual(stricter.status, 1)
        XCTAssertTrue(stricter.output.contains("pairwise 0.650 is below the minimum 0.900") && stricter.output.contains("mae 1.200 is above the maximum 1.000"),
                      "the file's other thresholds still hold: \(stricter.output)")

        try write("min_pairwise = 0.9\nmin_exact 0.5\n", to: "thresholds.conf")
        let malformed = try check([labelled])
        XCTAssertEqual(malformed.status, 2, malformed.output + malformed.errors)
        XCTAssertTrue(malformed.errors.contains("thresholds.conf:2: expected `name = number`, got 'min_exact 0.5'"), malformed.errors)
    }

    func testJSONAndJUnitCarryTheFigures() throws {
        let result = try check(["--rules", "rules/profiles/seed", "--format", "json", "--min-exact", "0.5", labelled])
        XCTAssertEqual(result.status, 1, result.output + result.errors)
        let object = try json(result)
        let sets = try XCTUnwrap(object["accuracy"] as? [[String: Any]])
        XCTAssertEqual(sets.count, 1)
        let set = sets[0]
        XCTAssertEqual(set["file"] as? String, labelled)
        XCTAssertEqual(set["n"] as? Int, 5)
        XCTAssertEqual(set["mae"] as? Double, 1.2)
        XCTAssertEqual(set["exact"] as? Double, 0.4)
        XCTAssertEqual(set["within1"] as? Double, 0.8)
        XCTAssertEqual(set["pairwise"] as? Double, 0.65)
        XCTAssertEqual(set["unscored"] as? Int, 0)
        XCTAssertEqual(set["below_threshold"] as? [String], ["exact 0.400 is below the minimum 0.500"])
        XCTAssertEqual(set["confusion"] as? [[Int]], [[1, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [1, 0, 0, 0, 0]])

        let junit = try check(["--rules", "rules/profiles/seed", "--format", "junit", "--min-exact", "0.5", labelled])
        XCTAssertEqual(junit.status, 1)
        let parser = XMLParser(data: Data(junit.output.utf8))
        XCTAssertTrue(parser.parse(), junit.output)
        XCTAssertTrue(junit.output.contains("<testsuites name=\"urgencyiq check\" tests=\"1\" failures=\"1\">"), junit.output)
        XCTAssertTrue(junit.output.contains("<testsuite name=\"accuracy\" tests=\"1\" failures=\"1\">"), junit.output)
        for (name, value) in [("n", "5"), ("mae", "1.200"), ("exact", "0.400"), ("within1", "0.800"), ("pairwise", "0.650")] {
            XCTAssertTrue(junit.output.contains("<property name=\"\(name)\" value=\"\(value)\"/>"), "\(name): \(junit.output)")
        }
        XCTAssertTrue(junit.output.contains("<failure message=\"exact 0.400 is below the minimum 0.500\">\(Self.seedLine)</failure>"),
                      junit.output)
        let passing = try check(["--format", "junit", labelled])
        XCTAssertEqual(passing.status, 0)
        XCTAssertTrue(passing.output.contains("<testsuite name=\"accuracy\" tests=\"1\" failures=\"0\">"), passing.output)
        XCTAssertFalse(passing.output.contains("<failure"), passing.output)
    }

    func testDiffShowsBothRuleSetsAccuracyAndTheMessagesThatMoved() throws {
        let better = try check(["--rules", "rules", "--diff", "rules/profiles/seed", labelled])
        XCTAssertEqual(better.status, 0, better.output + better.errors)
        XCTAssertTrue(better.output.contains("""
            \(labelled): accuracy, old → new
              mae       1.200 → 0.010
              exact     0.400 → 1.000
              within1   0.800 → 1.000
              pairwise  0.650 → 1.000
              3 better:
                \(labelled):2: label 4, 5.0 → 4.03  "Why was my loan rejected?"
                \(labelled):4: label 2, 1.0 → 1.98  "what is my loan limit"
                \(labelled):5: label 5, 1.0 → 5.0  "someone stole my phone"
              0 worse

            """), better.output)
        XCTAssertTrue(better.output.contains("diff: 3 of 5 messages change score"), better.output)

        let worse = try check(["--rules", "rules/profiles/seed", "--diff", "rules", labelled])
        XCTAssertEqual(worse.status, 0, worse.output + worse.errors)
        XCTAssertTrue(worse.output.contains("  pairwise  1.000 → 0.650\n  0 better\n  3 worse:\n"), worse.output)
        XCTAssertTrue(worse.output.contains("\(labelled):5: label 5, 5.0 → 1.0  \"someone stole my phone\""), worse.output)

        let json = try json(try check(["--rules", "rules", "--diff", "rules/profiles/seed", "--format", "json", labelled]))
        let comparison = try XCTUnwrap((json["accuracy_diff"] as? [[String: Any]])?.first)
        XCTAssertEqual((comparison["old"] as? [String: Any])?["pairwise"] as? Double, 0.65)
        XCTAssertEqual((comparison["new"] as? [String: Any])?["pairwise"] as? Double, 1)
        XCTAssertEqual((comparison["better"] as? [[String: Any]])?.compactMap { $0["label"] as? Int }, [4, 2, 5])
        XCTAssertEqual((comparison["worse"] as? [Any])?.count, 0)
        XCTAssertNotNil(json["diff"], "the score diff is there too")

        let junit = try check(["--rules", "rules", "--diff", "rules/profiles/seed", "--format", "junit", labelled])
        XCTAssertEqual(junit.status, 2)
        XCTAssertTrue(junit.errors.contains("--diff reports as text or json"), junit.errors)
    }

    func testCoverageListsCountsAndNeverFiredItems() throws {
        let json = try json(try check(["--coverage", "--format", "json", labelled]))
        let coverage = try XCTUnwrap(json["coverage"] as? [String: Any])
        let fired = try XCTUnwrap(coverage["fired"] as? [String: Int])
        let never = try XCTUnwrap(coverage["never_fired"] as? [String])
        XCTAssertEqual(fired["intent loan rejected"], 1)
        XCTAssertEqual(fired["intent phone, SIM or ID stolen or lost"], 1)
        XCTAssertEqual(fired["intent thanks"], 1)
        XCTAssertEqual(fired["concept question"], 2, "the loan rejected and the limit question both ask")
        XCTAssertTrue(never.contains("intent threat of harm") && never.contains("intent fraud or a scam"), "\(never)")
        XCTAssertTrue(Set(fired.keys).isDisjoint(with: never))
        XCTAssertEqual(coverage["unlisted"] as? [String], [])

        let text = try check(["--coverage", labelled])
        XCTAssertEqual(text.status, 0, text.output + text.errors)
        XCTAssertTrue(text.output.contains("coverage: \(fired.count) of \(fired.count + never.count) rules fired on at least one fixture\n"),
                      text.output)
        XCTAssertTrue(text.output.contains("       2  concept question\n"), text.output)
        XCTAssertTrue(text.output.contains("       1  intent loan rejected\n"), text.output)
        XCTAssertTrue(text.output.contains("never fired (\(never.count)):\n"), text.output)
        XCTAssertTrue(text.output.contains("\n          intent threat of harm\n"), text.output)

        // Rules without inventory() cannot say what never fired.
        try write("function score() return 2 end\n", to: "plain/urgency.lua")
        let plain = try check(["--coverage", "--rules", directory.appendingPathComponent("plain").path, labelled])
        XCTAssertEqual(plain.status, 2)
        XCTAssertTrue(plain.errors.contains("--coverage needs the rules to define inventory()"), plain.errors)
    }

    private func rulesVersion(_ rules: String) throws -> String {
        let result = try CommandRunner.run(["score", "--rules", rules, "--json", "x"])
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        return try XCTUnwrap(object?["rules_version"] as? String)
    }
}
