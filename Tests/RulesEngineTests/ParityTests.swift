import XCTest
@testable import RulesEngine

/// The shipped rules against fixtures written from SCORER.md, and messages of every size.
final class ParityTests: XCTestCase {
    /// Scores every row of a fixture file (columns message, expected) and lists the rows that differ.
    private func assertFixtures(_ path: String, rules: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let scorer = try Scorer(rulesDirectory: rules, log: DiscardingLogSink())
        let table = try CSVTable(reader: CSVReader(path: path))
        let message = try table.require("message"), expected = try table.require("expected")
        var failures: [String] = []
        var count = 0
        while let record = try table.next() {
            count += 1
            let got = try scorer.score(ScoringInput(text: record.fields[message]), options: ScoringOptions(explain: false)).value
            if Double(record.fields[expected]) != got {
                failures.append("\(path):\(record.line): expected \(record.fields[expected]), got \(got): \(record.fields[message].debugDescription)")
            }
        }
        XCTAssertGreaterThan(count, 0, file: file, line: line)
        XCTAssertEqual(failures, [], file: file, line: line)
    }

    func testDefaultRulesReproduceTheSeedScorer() throws {
        try assertFixtures(Repository.golden + "/scorer_parity.csv", rules: Repository.rules)
    }

    func testVariantProfileReproducesTheSeedsSmallerScorer() throws {
        try assertFixtures(Repository.root.appendingPathComponent("data/profiles/seed-variant/golden.csv").path,
                           rules: Repository.variantRules)
    }

    func testHundredKilobyteMessages() throws {
        let scorer = try Scorer(rulesDirectory: Repository.rules, log: DiscardingLogSink())
        let filler = String(repeating: "lorem ipsum dolor ", count: 100_000 / 18)
        let cases: [(String, Double)] = [
            (filler, 1.0),
            (filler + " fraud", 5.0),
            ("fraud " + filler, 5.0),
            (filler + " I will pay in 3 days", 3.5),
            (String(repeating: "why ", count: 25_000), 1.0),                // the seed backtracks for 30 s here
            (String(repeating: "why ", count: 25_000) + "rejected", 5.0),
            (String(repeating: "why ", count: 25_000) + "deniex", 1.0),
            (String(repeating: "😡", count: 25_000) + " blocked", 5.0),
            (String(repeating: "İ", count: 50_000) + " pls", 1.5),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(try scorer.score(ScoringInput(text: text)).value, expected, String(text.suffix(20)))
        }
    }
}
