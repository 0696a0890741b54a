import Foundation
import XCTest
@testable import RulesEngine
import Support

/// Paths inside the repository, for tests that use the shipped rules and fixtures.
enum Repository {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The default profile, designed for accuracy.
    static let rules = root.appendingPathComponent("rules").path
    /// The seed's scorer to the decimal, and its fixtures.
    static let seedRules = root.appendingPathComponent("rules/profiles/seed").path
    static let seedGolden = root.appendingPathComponent("data/profiles/seed").path
    static let variantRules = root.appendingPathComponent("rules/profiles/seed-variant").path
    static let golden = root.appendingPathComponent("data/golden").path
    static let labelled = root.appendingPathComponent("data/labelled").path

    /// The message of every row of the labelled sets, the golden fixtures and the sample data.
    static func everyMessage() throws -> [String] {
        var texts: [String] = []
        for directory in [labelled, golden, root.appendingPathComponent("data").path] {
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasSuffix(".csv") {
                let table = try CSVTable(reader: CSVReader(path: directory + "/" + file))
                let column = try table.messageColumn(named: nil)
                while let record = try table.next() {
                    if column < record.fields.count { texts.append(record.fields[column]) }
                }
            }
        }
        return texts
    }
}

/// A scorer over rules given as source text (file name → source), loaded from memory.
func scorer(_ files: [String: String], limits: EngineLimits = EngineLimits()) throws(RulesError) -> Scorer {
    let ruleSet = try RuleSet(files: files.mapValues { Array($0.utf8) })
    return try Scorer(ruleSet: ruleSet, limits: limits, log: DiscardingLogSink())
}

/// A scorer whose urgency.lua is `source`.
func scorer(urgency source: String, limits: EngineLimits = EngineLimits()) throws(RulesError) -> Scorer {
    try scorer(["urgency.lua": source], limits: limits)
}

/// The error loading `files` raises, or a test failure when they load.
func loadError(_ files: [String: String], file: StaticString = #filePath, line: UInt = #line) -> RulesError? {
    do {
        _ = try scorer(files)
        XCTFail("expected the rules to be refused", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// The error scoring `text` raises, or a test failure when it scores.
func scoringError(_ scorer: Scorer, _ text: String, file: StaticString = #filePath,
                  line: UInt = #line) -> ScoringError? {
    do {
        let score = try scorer.score(ScoringInput(text: text))
        XCTFail("expected the evaluation to fail, it returned \(score.value)", file: file, line: line)
        return nil
    } catch {
        return error
    }
}

/// A directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    /// Writes `contents` to `relativePath`, creating folders as needed.
    func write(_ relativePath: String, _ contents: String) throws {
        let file = url.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: file)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
