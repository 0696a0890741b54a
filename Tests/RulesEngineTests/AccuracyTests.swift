import Foundation
import FoundationXML
import XCTest
@testable import RulesEngine
import TestSupport

/// The accuracy figures of a labelled set (`AccuracyFigures`): MAE, exact (rounded half up), within one level,
/// pairwise order with ties counting half, the one-line summary and the confusion matrix; the thresholds a
/// directory's `thresholds.conf` sets and which figure fell below them; labelled files read into sets, with
/// the check report, the comparison of two rule sets and the coverage of a rule inventory built on them.
final class AccuracyTests: XCTestCase {
    // MARK: Figures

    /// scores 1, 1, 2, 2 for labels 1, 1, 2, 3, by hand:
    /// - mae = (|1-1| + |1-1| + |2-2| + |2-3|) / 4 = 1/4 = 0.250
    /// - rounded scores 1, 1, 2, 2: three equal their label (exact 0.750), all within one level (within1 1.000)
    /// - pairs with different labels (the two label-1 messages are not a pair): 1–2 and 1–3 for each label-1
    ///   message, all ordered right (4); 2–3, tied at 2, counts half; 4.5 of 5 = 0.900
    private static let scores: [Double] = [1, 1, 2, 2]
    private static let labels = [1, 1, 2, 3]

    func testTheFiguresOfAHandWorkedExample() {
        let figures = AccuracyFigures(scores: Self.scores, labels: Self.labels)
        XCTAssertEqual(figures.count, 4)
        XCTAssertEqual(figures.meanAbsoluteError, 0.25, accuracy: 1e-12)
        XCTAssertEqual(figures.exact, 0.75, accuracy: 1e-12)
        XCTAssertEqual(figures.withinOne, 1, accuracy: 1e-12)
        XCTAssertEqual(figures.pairwise, 0.9, accuracy: 1e-12)
        XCTAssertEqual(figures.line, "accuracy: n=4 mae=0.250 exact=0.750 within1=1.000 pairwise=0.900")
    }

    /// scores 3, 1 (label 1), 2 (label 2), 2, 5 (label 3), by hand:
    /// - label 1 vs 2: 3 > 2 wrong (0), 1 < 2 right (1) → 1 of 2
    /// - label 1 vs 3: 3 > 2 wrong, 3 < 5, 1 < 2, 1 < 5 right → 3 of 4
    /// - label 2 vs 3: 2 = 2 tied (½), 2 < 5 right → 1.5 of 2
    /// - 5.5 of 8 = 0.6875; the pair 3, 1 within label 1 is no pair
    func testPairwiseCountsTiesHalfAndOnlyPairsWithDifferentLabels() {
        let figures = AccuracyFigures(scores: [3, 1, 2, 2, 5], labels: [1, 1, 2, 3, 3])
        XCTAssertEqual(figures.pairwise, 0.6875, accuracy: 1e-12)
        // All tied: every pair counts half. All reversed: none.
        XCTAssertEqual(AccuracyFigures(scores: [3, 3, 3], labels: [1, 2, 3]).pairwise, 0.5, accuracy: 1e-12)
        XCTAssertEqual(AccuracyFigures(scores: [5, 4, 1], labels: [1, 2, 3]).pairwise, 0, accuracy: 1e-12)
        XCTAssertEqual(AccuracyFigures(scores: [1.1, 1.2, 1.3], labels: [1, 2, 3]).pairwise, 1, accuracy: 1e-12,
                       "pairwise reads raw scores, not levels")
    }

    func testPairwiseAgreesWithCountingEveryPair() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let count = Int.random(in: 0...60, using: &generator)
            // scores from a small set, so that ties are common
            let scores = (0..<count).map { _ in Double(Int.random(in: 2...10, using: &generator)) / 2 }
            let labels = (0..<count).map { _ in Int.random(in: 1...5, using: &generator) }
            var concordant = 0.0, pairs = 0.0
            for i in 0..<count {
                for j in 0..<count where labels[i] < labels[j] {
                    pairs += 1
                    concordant += scores[i] < scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0
                }
            }
            let expected = pairs > 0 ? concordant / pairs : 1
            XCTAssertEqual(AccuracyFigures(scores: scores, labels: labels).pairwise, expected, accuracy: 1e-9, "\(scores) \(labels)")
        }
    }

    func testExactRoundsHalfUp() {
        XCTAssertEqual(AccuracyFigures.level(2.5), 3)
        XCTAssertEqual(AccuracyFigures.level(2.49), 2)
        XCTAssertEqual(AccuracyFigures.level(1.5), 2)
        XCTAssertEqual(AccuracyFigures.level(3.5), 4, "half up, not half to even")
        XCTAssertEqual(AccuracyFigures.level(4.5), 5)
        XCTAssertEqual(AccuracyFigures.level(0.2), 1, "within 1...5")
        XCTAssertEqual(AccuracyFigures.level(-3), 1)
        XCTAssertEqual(AccuracyFigures.level(7.9), 5)
        XCTAssertEqual(AccuracyFigures(scores: [2.5], labels: [3]).exact, 1)
        XCTAssertEqual(AccuracyFigures(scores: [2.5], labels: [2]).exact, 0)
        XCTAssertEqual(AccuracyFigures(scores: [2.5, 4.4], labels: [3, 4]).line,
                       "accuracy: n=2 mae=0.450 exact=1.000 within1=1.000 pairwise=1.000")
    }

    func testWithinOneAndMeanAbsoluteError() {
        // levels 1, 5, 3, 4 for label 3: two levels off, two off, exact, one off
        let figures = AccuracyFigures(scores: [1, 5, 3.4, 3.6], labels: [3, 3, 3, 3])
        XCTAssertEqual(figures.exact, 0.25, accuracy: 1e-12)
        XCTAssertEqual(figures.withinOne, 0.5, accuracy: 1e-12)
        XCTAssertEqual(figures.meanAbsoluteError, (2 + 2 + 0.4 + 0.6) / 4, accuracy: 1e-12, "MAE reads raw scores, not levels")
        XCTAssertEqual(AccuracyFigures(scores: [4.6], labels: [3]).withinOne, 0, "4.6 rounds to 5")
        XCTAssertEqual(AccuracyFigures(scores: [4.4], labels: [3]).withinOne, 1)
    }

    func testTheConfusionMatrix() {
        let figures = AccuracyFigures(scores: Self.scores + [4.5, 0.4], labels: Self.labels + [4, 5])
        XCTAssertEqual(figures.confusion, [
            [2, 0, 0, 0, 0],
            [0, 1, 0, 0, 0],
            [0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1],
            [1, 0, 0, 0, 0],
        ], "rows are labels, columns rounded scores")
        let lines = figures.matrix.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 7)
        XCTAssertEqual(lines[0], "  label \\ score     1     2     3     4     5")
        XCTAssertEqual(lines[1], "  1                 2     0     0     0     0")
        XCTAssertEqual(lines[4], "  4                 0     0     0     0     1")
        XCTAssertEqual(lines[5], "  5                 1     0     0     0     0")
        XCTAssertEqual(lines[6], "")
    }

    func testAnEmptySetAndTheJSON() {
        let empty = AccuracyFigures(scores: [], labels: [])
        XCTAssertEqual(empty.line, "accuracy: n=0 mae=0.000 exact=0.000 within1=0.000 pairwise=1.000",
                       "no two labels differ, so nothing can be ordered wrong")
        XCTAssertEqual(AccuracyFigures(scores: [1, 5, 3], labels: [2, 2, 2]).pairwise, 1, "one label only: no pairs")
        XCTAssertEqual(empty.confusion.flatMap { $0 }.reduce(0, +), 0)
        let json = AccuracyFigures(scores: [3, 1, 2, 2, 5], labels: [1, 1, 2, 3, 3]).json
        XCTAssertEqual(json["n"], 5)
        XCTAssertEqual(json["pairwise"], 0.688, "rounded to three decimals")
        XCTAssertEqual(json["mae"], 1.0, "(2 + 0 + 0 + 1 + 2) / 5")
        XCTAssertEqual(json["exact"], 0.4)
        XCTAssertEqual(json["within1"], 0.6)
        XCTAssertEqual(json["confusion"]?.arrayValue?.count, 5)
        XCTAssertEqual(json["confusion"]?.arrayValue?.first, [1, 0, 1, 0, 0])
    }

    // MARK: Thresholds

    private func thresholds(_ text: String) throws -> AccuracyThresholds {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write(AccuracyThresholds.fileName, text)
        return try AccuracyThresholds.load(directory: directory.path)
    }

    private func thresholdsError(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> (line: Int, message: String)? {
        do {
            _ = try thresholds(text)
            XCTFail("expected \(text.debugDescription) to be refused", file: file, line: line)
            return nil
        } catch let error as FixtureError {
            XCTAssertTrue(error.file.hasSuffix("/thresholds.conf"), error.file, file: file, line: line)
            XCTAssertEqual(error.description, "\(error.file):\(error.line): \(error.message)", file: file, line: line)
            return (error.line, error.message)
        }
    }

    func testThresholdsAreReadFromThresholdsConf() throws {
        XCTAssertEqual(AccuracyThresholds.fileName, "thresholds.conf")
        let read = try thresholds("""
            # The accuracy every labelled set in this directory must keep.
            min_pairwise = 0.90

            min_exact=0.75   # a comment after the value
              max_mae = 0.35
            """)
        XCTAssertEqual(read, AccuracyThresholds(minimumPairwise: 0.9, minimumExact: 0.75, maximumMAE: 0.35))
        XCTAssertEqual(try thresholds("min_exact = 0.5\n"), AccuracyThresholds(minimumExact: 0.5))
        XCTAssertTrue(try thresholds("# nothing\n\n").isEmpty)
        let none = try TemporaryDirectory()
        defer { none.remove() }
        XCTAssertEqual(try AccuracyThresholds.load(directory: none.path), AccuracyThresholds(), "no file: no thresholds")
    }

    func testThresholdsWithWindowsLineEnds() throws {
        XCTAssertEqual(try thresholds("min_pairwise = 0.9\r\nmin_exact = 0.5\r\n"),
                       AccuracyThresholds(minimumPairwise: 0.9, minimumExact: 0.5))
        XCTAssertEqual(try thresholdsError("min_pairwise = 0.9\r\nnonsense\r\n")?.line, 2)
    }

    func testAMalformedThresholdsFileIsAnErrorNamingTheLine() throws {
        let colon = try thresholdsError("# ok\nmin_exact = 0.5\nmin_pairwise: 0.9\n")
        XCTAssertEqual(colon?.line, 3)
        XCTAssertEqual(colon?.message, "expected `name = number`, got 'min_pairwise: 0.9'")
        let unknown = try thresholdsError("min_recall = 0.5\n")
        XCTAssertEqual(unknown?.line, 1)
        XCTAssertEqual(unknown?.message, "unknown threshold 'min_recall' (min_pairwise, min_exact, max_mae)")
        XCTAssertEqual(try thresholdsError("\n\nmax_mae = -1\n")?.line, 3, "a negative threshold")
        XCTAssertEqual(try thresholdsError("min_exact = high\n")?.message, "expected `name = number`, got 'min_exact = high'")
        XCTAssertEqual(try thresholdsError("min_exact =\n")?.line, 1)
    }

    func testWhichFigureFell() {
        let figures = AccuracyFigures(scores: Self.scores, labels: Self.labels)  // pairwise 0.9, exact 0.75, mae 0.25
        XCTAssertEqual(AccuracyThresholds(minimumPairwise: 0.95, minimumExact: 0.8, maximumMAE: 0.2).misses(figures), [
            "pairwise 0.900 is below the minimum 0.950",
            "exact 0.750 is below the minimum 0.800",
            "mae 0.250 is above the maximum 0.200",
        ])
        XCTAssertEqual(AccuracyThresholds(minimumPairwise: 0.9, minimumExact: 0.75, maximumMAE: 0.25).misses(figures), [],
                       "a figure equal to its threshold keeps it")
        XCTAssertEqual(AccuracyThresholds(minimumExact: 0.8).misses(figures), ["exact 0.750 is below the minimum 0.800"])
        XCTAssertEqual(AccuracyThresholds().misses(figures), [])
        // Flags override the file figure by figure.
        let file = AccuracyThresholds(minimumPairwise: 0.95, minimumExact: 0.8)
        XCTAssertEqual(file.overridden(by: AccuracyThresholds(minimumPairwise: 0.5, maximumMAE: 0.1)),
                       AccuracyThresholds(minimumPairwise: 0.5, minimumExact: 0.8, maximumMAE: 0.1))
    }

    // MARK: Labelled files

    /// Rules whose score is the message itself, read as a number ("boom" fails): the figures are set by hand.
    private func echoScorer() throws -> Scorer {
        try scorer(urgency: """
            function score(m)
              if m.text == 'boom' then error('boom') end
              return tonumber(m.text) or 3
            end
            """)
    }

    private func results(_ directory: TemporaryDirectory, scorer: Scorer) throws -> [FixtureResult] {
        var fixtures: [Fixture] = []
        for file in try FixtureLoader.files(in: [directory.path]) { fixtures += try FixtureLoader.load(file) }
        return FixtureRunner(scorer: scorer).run(fixtures)
    }

    func testLabelledFilesBecomeSetsWithTheirDirectorysThresholds() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("a.csv", "message,label\n1,1\n1,1\n2,2\n2,3\nboom,5\n")
        try directory.write("thresholds.conf", "min_pairwise = 0.95\n")
        try directory.write("golden/g.csv", "message,expected\n2,2\n")
        try directory.write("more/b.csv", "message,label,expected\n4,4,4\n1,5,1\n")
        let results = try results(directory, scorer: try echoScorer())
        let sets = try AccuracySet.sets(in: results)
        XCTAssertEqual(sets.map { ($0.file as NSString).lastPathComponent }, ["a.csv", "b.csv"], "only files with a label column")
        XCTAssertEqual(sets[0].figures.line, "accuracy: n=4 mae=0.250 exact=0.750 within1=1.000 pairwise=0.900")
        XCTAssertEqual(sets[0].unscored, 1, "boom failed to score")
        XCTAssertEqual(sets[0].thresholds, AccuracyThresholds(minimumPairwise: 0.95))
        XCTAssertEqual(sets[0].misses, ["\(sets[0].file): pairwise 0.900 is below the minimum 0.950",
                                        "\(sets[0].file): 1 labelled message could not be scored"],
                       "a message the rules fail on is a miss, not a message left out")
        XCTAssertEqual(sets[1].thresholds, AccuracyThresholds(), "thresholds are per directory")
        XCTAssertEqual(sets[1].figures.pairwise, 0)

        let report = CheckReport(results: results, rulesVersion: "v1", accuracy: sets)
        XCTAssertEqual(report.checks.count, 3, "the golden fixture and the two with an expected value")
        XCTAssertEqual(report.failed, 0)
        XCTAssertFalse(report.isPassing, "the accuracy fell")
        let text = report.text(verbose: false)
        XCTAssertTrue(text.contains("\(sets[0].file) (1 failed to score)\naccuracy: n=4 mae=0.250"), text)
        XCTAssertTrue(text.contains("label \\ score"), text)
        XCTAssertTrue(text.contains("accuracy below its threshold: \(sets[0].file): pairwise 0.900 is below the minimum 0.950\n"), text)
        XCTAssertTrue(text.contains("accuracy below its threshold: \(sets[0].file): 1 labelled message could not be scored\n"), text)
        XCTAssertTrue(text.hasSuffix("check: 3 passed, 0 failed (rules v1)\n"), text)
        let json = report.json(verbose: false)
        XCTAssertEqual(json["accuracy"]?.arrayValue?.count, 2)
        XCTAssertEqual(json["accuracy"]?.arrayValue?.first?["pairwise"], 0.9)
        XCTAssertEqual(json["accuracy"]?.arrayValue?.first?["unscored"], 1)
        XCTAssertEqual(json["accuracy"]?.arrayValue?.first?["below_threshold"], ["pairwise 0.900 is below the minimum 0.950"])
        let junit = report.junit()
        XCTAssertTrue(XMLParser(data: Data(junit.utf8)).parse(), junit)
        XCTAssertTrue(junit.contains("<testsuite name=\"accuracy\" tests=\"2\" failures=\"1\">"), junit)
        XCTAssertTrue(junit.contains("<property name=\"pairwise\" value=\"0.900\"/>"), junit)
        XCTAssertTrue(junit.contains("<failure message=\"pairwise 0.900 is below the minimum 0.950\">"), junit)

        // Overrides (the command line's flags) win over the file.
        let relaxed = try AccuracySet.sets(in: results, overrides: AccuracyThresholds(minimumPairwise: 0.9))
        XCTAssertEqual(relaxed[0].misses, ["\(sets[0].file): 1 labelled message could not be scored"])
        XCTAssertEqual(relaxed[1].misses, ["\(sets[1].file): pairwise 0.000 is below the minimum 0.900"], "and apply to every set")
        XCTAssertFalse(CheckReport(results: results, rulesVersion: "v1", accuracy: relaxed).isPassing)
        let lenient = try AccuracySet.sets(in: results, overrides: AccuracyThresholds(minimumPairwise: 0))
        XCTAssertFalse(CheckReport(results: results, rulesVersion: "v1", accuracy: lenient).isPassing,
                       "whatever the thresholds, a labelled message that cannot be scored fails the check")
        let scoredOnly = results.filter { $0.score != nil }
        let clean = try AccuracySet.sets(in: scoredOnly, overrides: AccuracyThresholds(minimumPairwise: 0))
        XCTAssertTrue(CheckReport(results: scoredOnly, rulesVersion: "v1", accuracy: clean).isPassing)
    }

    func testAMalformedThresholdsFileBesideALabelledSetIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("a.csv", "message,label\n1,1\n")
        try directory.write("thresholds.conf", "min_pairwise = 0.9\nmax_mae 0.3\n")
        let results = try results(directory, scorer: try echoScorer())
        XCTAssertThrowsError(try AccuracySet.sets(in: results)) { error in
            XCTAssertTrue("\(error)".hasSuffix("thresholds.conf:2: expected `name = number`, got 'max_mae 0.3'"), "\(error)")
        }
    }

    func testComparingTwoRuleSetsListsMessagesThatGotBetterOrWorse() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("a.csv", "message,label\n1,1\n1,1\n2,2\n2,3\n")
        let constant = try scorer(urgency: "function score() return 2 end")
        let old = try results(directory, scorer: constant), new = try results(directory, scorer: try echoScorer())
        let comparison = AccuracyComparison(old: old, new: new)
        XCTAssertEqual(comparison.sets.count, 1)
        let set = comparison.sets[0]
        // constant 2 for labels 1, 1, 2, 3: mae 0.75, exact 0.25, every pair tied: pairwise 0.5
        XCTAssertEqual(set.old.line, "accuracy: n=4 mae=0.750 exact=0.250 within1=1.000 pairwise=0.500")
        XCTAssertEqual(set.new.line, "accuracy: n=4 mae=0.250 exact=0.750 within1=1.000 pairwise=0.900")
        XCTAssertEqual(set.better.map(\.fixture.line), [2, 3], "the two label-1 messages moved from 2 to 1")
        XCTAssertEqual(set.worse.count, 0)
        let text = comparison.text()
        XCTAssertTrue(text.contains("\(set.file): accuracy, old → new\n"), text)
        XCTAssertTrue(text.contains("  mae       0.750 → 0.250\n"), text)
        XCTAssertTrue(text.contains("  pairwise  0.500 → 0.900\n"), text)
        XCTAssertTrue(text.contains("  2 better:\n    \(set.file):2: label 1, 2.0 → 1.0  \"1\"\n"), text)
        XCTAssertTrue(text.contains("  0 worse\n"), text)
        let reverse = AccuracyComparison(old: new, new: old).sets[0]
        XCTAssertEqual(reverse.worse.map(\.fixture.line), [2, 3])
        XCTAssertEqual(reverse.better.count, 0)
        XCTAssertEqual(comparison.json.arrayValue?.first?["better"]?.arrayValue?.count, 2)
        XCTAssertEqual(AccuracyComparison(old: old, new: new).text(listed: 1).contains("… and 1 more"), true)
    }

    func testCoverageCountsFixturesPerInventoryItem() throws {
        let scorer = try scorer(urgency: """
            function inventory() return { "intent a", "intent b", "concept x" } end
            function score(m, ctx)
              if m.text == "a" then return 1, { fired = { "intent a", "concept x", "concept x" } } end
              if m.text == "x" then return 1, { fired = { "concept x" } } end
              return 1, { fired = { "mystery" } }
            end
            """)
        let fixtures = ["a", "a", "x", "z"].enumerated().map {
            Fixture(file: "f.csv", line: $0.offset + 2, id: nil, message: $0.element, expected: nil, llmReply: nil, llmEnabled: false,
                    tags: [], note: nil)
        }
        let results = FixtureRunner(scorer: scorer).run(fixtures, explainPasses: true)
        let coverage = Coverage(results: results, inventory: try XCTUnwrap(try scorer.inventory()))
        XCTAssertEqual(coverage.counts.map(\.item), ["concept x", "intent a"])
        XCTAssertEqual(coverage.counts.map(\.fixtures), [3, 2], "a fixture counts once however often it names an item")
        XCTAssertEqual(coverage.neverFired, ["intent b"])
        XCTAssertEqual(coverage.unlisted, ["mystery"])
        let text = coverage.text()
        XCTAssertTrue(text.hasPrefix("coverage: 2 of 3 rules fired on at least one fixture\n       3  concept x\n       2  intent a\n"), text)
        XCTAssertTrue(text.contains("never fired (1):\n          intent b\n"), text)
        XCTAssertTrue(text.contains("fired but not in inventory(): mystery"), text)
    }
}
