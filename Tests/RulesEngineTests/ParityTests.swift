import XCTest
@testable import RulesEngine

/// The shipped rules against fixtures written from SCORER.md, and messages of every size.
final class ParityTests: XCTestCase {
    /// Runs fixture files through the harness and lists every fixture that fails.
    private func assertFixtures(_ paths: [String], rules: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let scorer = try Scorer(rulesDirectory: rules, log: DiscardingLogSink())
        var fixtures: [Fixture] = []
        for path in try FixtureLoader.files(in: paths) { fixtures += try FixtureLoader.load(path) }
        let results = FixtureRunner(scorer: scorer).run(fixtures)
        XCTAssertGreaterThan(results.count, 0, file: file, line: line)
        let failures = results.filter { !$0.passed }.map { result in
            "\(result.fixture.location): expected \(result.fixture.expected), got \(result.score.map { "\($0)" } ?? "\(result.error!)")"
        }
        XCTAssertEqual(failures, [], "failing fixtures", file: file, line: line)
    }

    /// The golden suite: every fixture under data/golden passes with the shipped rules.
    func testGoldenFixturesPass() throws {
        try assertFixtures([Repository.seedGolden], rules: Repository.seedRules)
    }

    func testVariantProfileReproducesTheSeedsSmallerScorer() throws {
        try assertFixtures([Repository.root.appendingPathComponent("data/profiles/seed-variant").path],
                           rules: Repository.variantRules)
    }

    func testHundredKilobyteMessages() throws {
        let scorer = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
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
