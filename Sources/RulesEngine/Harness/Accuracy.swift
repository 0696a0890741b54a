import Foundation
import Support

/// How well scores order and match the urgency people gave the same messages (a labelled set): the figures a
/// rule change is judged by, beside the pass/fail fixtures.
public struct AccuracyFigures: Sendable, Equatable {
    /// Messages scored.
    public var count: Int
    /// Mean of |score − label|.
    public var meanAbsoluteError: Double
    /// Share of messages whose score, rounded half up, equals the label.
    public var exact: Double
    /// Share whose rounded score is at most one level off.
    public var withinOne: Double
    /// Of all pairs of messages with different labels, the share the scores order the same way (a tie in the
    /// scores counts half): how often the more urgent ticket comes first. 1 when no two labels differ.
    public var pairwise: Double
    /// Messages by label (row 0 is label 1) and rounded score (column 0 is 1).
    public var confusion: [[Int]]

    /// The figures of `scores` against `labels` (1 to 5), pairwise in O(n log n).
    public init(scores: [Double], labels: [Int]) {
        precondition(scores.count == labels.count)
        count = scores.count
        confusion = Array(repeating: Array(repeating: 0, count: 5), count: 5)
        guard count > 0 else {
            meanAbsoluteError = 0
            exact = 0
            withinOne = 0
            pairwise = 1  // no pairs: nothing ordered wrong
            return
        }
        var absoluteError = 0.0, exactHits = 0, withinHits = 0
        var byLabel = Array(repeating: [Double](), count: 5)
        for (score, label) in zip(scores, labels) {
            absoluteError += abs(score - Double(label))
            let level = AccuracyFigures.level(score)
            if level == label { exactHits += 1 }
            if abs(level - label) <= 1 { withinHits += 1 }
            confusion[label - 1][level - 1] += 1
            byLabel[label - 1].append(score)
        }
        meanAbsoluteError = absoluteError / Double(count)
        exact = Double(exactHits) / Double(count)
        withinOne = Double(withinHits) / Double(count)
        for index in byLabel.indices { byLabel[index].sort() }
        var concordant = 0.0, pairs = 0.0
        for low in 0..<5 {
            for high in (low + 1)..<5 {
                let higher = byLabel[high]
                for score in byLabel[low] {
                    // Scores of the more urgent label above this one count whole, equal ones half.
                    let below = AccuracyFigures.firstIndex(in: higher) { $0 >= score }
                    let atOrBelow = AccuracyFigures.firstIndex(in: higher) { $0 > score }
                    concordant += Double(higher.count - atOrBelow) + Double(atOrBelow - below) / 2
                }
                pairs += Double(byLabel[low].count * higher.count)
            }
        }
        pairwise = pairs > 0 ? concordant / pairs : 1  // no two labels differ: nothing can be ordered wrong
    }

    /// A score as a level: rounded half up, within 1...5.
    static func level(_ score: Double) -> Int { min(5, max(1, Int((score + 0.5).rounded(.down)))) }

    private static func firstIndex(in sorted: [Double], where predicate: (Double) -> Bool) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if predicate(sorted[middle]) { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// `accuracy: n=400 mae=0.312 exact=0.781 within1=0.985 pairwise=0.912`
    public var line: String {
        "accuracy: n=\(count) mae=\(Self.three(meanAbsoluteError)) exact=\(Self.three(exact)) "
            + "within1=\(Self.three(withinOne)) pairwise=\(Self.three(pairwise))"
    }

    /// The confusion matrix: a row per label, a column per rounded score.
    public var matrix: String {
        var out = "  label \\ score     1     2     3     4     5\n"
        for label in 1...5 {
            out += "  \(label)            " + confusion[label - 1].map { String($0).leftPadded(6) }.joined() + "\n"
        }
        return out
    }

    public var json: JSONValue {
        [
            "n": .integer(Int64(count)), "mae": .number(Self.rounded(meanAbsoluteError)), "exact": .number(Self.rounded(exact)),
            "within1": .number(Self.rounded(withinOne)), "pairwise": .number(Self.rounded(pairwise)),
            "confusion": .array(confusion.map { .array($0.map { .integer(Int64($0)) }) }),
        ]
    }

    static func three(_ value: Double) -> String { String(format: "%.3f", value) }
    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

/// The accuracy a labelled set must keep: read from a `thresholds.conf` beside the fixtures (so the reload gate
/// refuses rules that order tickets worse) or given on the command line (`--min-pairwise` …).
///
/// ```
/// # The accuracy every labelled set in this directory must keep.
/// min_pairwise = 0.90
/// min_exact = 0.75
/// max_mae = 0.35
/// ```
public struct AccuracyThresholds: Sendable, Equatable {
    public var minimumPairwise: Double?
    public var minimumExact: Double?
    public var maximumMAE: Double?

    public init(minimumPairwise: Double? = nil, minimumExact: Double? = nil, maximumMAE: Double? = nil) {
        self.minimumPairwise = minimumPairwise
        self.minimumExact = minimumExact
        self.maximumMAE = maximumMAE
    }

    /// The file a directory's thresholds live in.
    public static let fileName = "thresholds.conf"

    public var isEmpty: Bool { minimumPairwise == nil && minimumExact == nil && maximumMAE == nil }

    /// The thresholds in `directory`/thresholds.conf, or none.
    public static func load(directory: String) throws(FixtureError) -> AccuracyThresholds {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else { return AccuracyThresholds() }
        var thresholds = AccuracyThresholds()
        for (index, raw) in String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let value = Double(parts[1]), value >= 0 else {
                throw FixtureError(file: path, line: index + 1, message: "expected `name = number`, got '\(line)'")
            }
            switch parts[0] {
            case "min_pairwise": thresholds.minimumPairwise = value
            case "min_exact": thresholds.minimumExact = value
            case "max_mae": thresholds.maximumMAE = value
            default:
                throw FixtureError(file: path, line: index + 1,
                                   message: "unknown threshold '\(parts[0])' (min_pairwise, min_exact, max_mae)")
            }
        }
        return thresholds
    }

    /// `other`'s thresholds where it has them, these elsewhere.
    public func overridden(by other: AccuracyThresholds) -> AccuracyThresholds {
        AccuracyThresholds(minimumPairwise: other.minimumPairwise ?? minimumPairwise, minimumExact: other.minimumExact ?? minimumExact,
                           maximumMAE: other.maximumMAE ?? maximumMAE)
    }

    /// Each figure that misses its threshold, as `pairwise 0.820 is below the minimum 0.900`.
    public func misses(_ figures: AccuracyFigures) -> [String] {
        var out: [String] = []
        if let minimum = minimumPairwise, figures.pairwise < minimum {
            out.append("pairwise \(AccuracyFigures.three(figures.pairwise)) is below the minimum \(AccuracyFigures.three(minimum))")
        }
        if let minimum = minimumExact, figures.exact < minimum {
            out.append("exact \(AccuracyFigures.three(figures.exact)) is below the minimum \(AccuracyFigures.three(minimum))")
        }
        if let maximum = maximumMAE, figures.meanAbsoluteError > maximum {
            out.append("mae \(AccuracyFigures.three(figures.meanAbsoluteError)) is above the maximum \(AccuracyFigures.three(maximum))")
        }
        return out
    }
}

/// One labelled file of a check: its figures, the messages that failed to score, and what it must keep.
public struct AccuracySet: Sendable {
    public var file: String
    public var figures: AccuracyFigures
    public var unscored: Int
    public var thresholds: AccuracyThresholds

    /// Every labelled file among `results`, in the order the files came, with the thresholds of its directory
    /// overridden by `overrides`.
    public static func sets(in results: [FixtureResult], overrides: AccuracyThresholds = AccuracyThresholds())
        throws(FixtureError) -> [AccuracySet] {
        var files: [String] = []
        var byFile: [String: [FixtureResult]] = [:]
        for result in results where result.fixture.label != nil {
            if byFile[result.fixture.file] == nil { files.append(result.fixture.file) }
            byFile[result.fixture.file, default: []].append(result)
        }
        var sets: [AccuracySet] = []
        for file in files {
            let scored = byFile[file]!.filter { $0.score != nil }
            let figures = AccuracyFigures(scores: scored.map { $0.score! }, labels: scored.map { $0.fixture.label! })
            let directory = RelativePath.parent(of: file)
            let thresholds = try AccuracyThresholds.load(directory: directory.isEmpty ? "." : directory).overridden(by: overrides)
            sets.append(AccuracySet(file: file, figures: figures, unscored: byFile[file]!.count - scored.count, thresholds: thresholds))
        }
        return sets
    }

    /// What this set misses, each as `file: pairwise 0.820 is below the minimum 0.900`; a labelled message the
    /// rules cannot score is a miss too (rules that fail on the hard messages must not look better for it).
    public var misses: [String] {
        var misses = thresholds.misses(figures).map { "\(file): \($0)" }
        if unscored > 0 { misses.append("\(file): \(unscored) labelled message\(unscored == 1 ? "" : "s") could not be scored") }
        return misses
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}

/// Two rule sets' accuracy on the same labelled sets, side by side, and the labelled messages whose score
/// moved toward their label (better) or away from it (worse): what `check --diff` shows a reviewer.
public struct AccuracyComparison: Sendable {
    public struct Movement: Sendable {
        public var fixture: Fixture
        public var old: Double
        public var new: Double
    }

    public struct Set: Sendable {
        public var file: String
        public var old: AccuracyFigures
        public var new: AccuracyFigures
        public var better: [Movement]
        public var worse: [Movement]
    }

    public var sets: [Set]

    /// Compares results of the same fixtures under the old and the new rules (in the same order).
    public init(old: [FixtureResult], new: [FixtureResult]) {
        var files: [String] = []
        var pairs: [String: [(FixtureResult, FixtureResult)]] = [:]
        for (before, after) in zip(old, new) where after.fixture.label != nil && before.score != nil && after.score != nil {
            if pairs[after.fixture.file] == nil { files.append(after.fixture.file) }
            pairs[after.fixture.file, default: []].append((before, after))
        }
        sets = files.map { file in
            let rows = pairs[file]!
            let labels = rows.map { $0.1.fixture.label! }
            var better: [Movement] = [], worse: [Movement] = []
            for (before, after) in rows {
                let label = Double(after.fixture.label!)
                let movement = Movement(fixture: after.fixture, old: before.score!, new: after.score!)
                if abs(movement.new - label) < abs(movement.old - label) { better.append(movement) }
                if abs(movement.new - label) > abs(movement.old - label) { worse.append(movement) }
            }
            return Set(file: file, old: AccuracyFigures(scores: rows.map { $0.0.score! }, labels: labels),
                       new: AccuracyFigures(scores: rows.map { $0.1.score! }, labels: labels), better: better, worse: worse)
        }
    }

    /// Both figures per set, then the messages that got better and worse (at most `listed` of each).
    public func text(listed: Int = 50) -> String {
        var out = ""
        for set in sets {
            out += "\(set.file): accuracy, old → new\n"
            for (name, old, new) in [("mae", set.old.meanAbsoluteError, set.new.meanAbsoluteError), ("exact", set.old.exact, set.new.exact),
                                     ("within1", set.old.withinOne, set.new.withinOne), ("pairwise", set.old.pairwise, set.new.pairwise)] {
                out += "  \(name.padding(toLength: 9, withPad: " ", startingAt: 0)) \(AccuracyFigures.three(old)) → \(AccuracyFigures.three(new))\n"
            }
            for (title, list) in [("better", set.better), ("worse", set.worse)] {
                out += "  \(list.count) \(title)\(list.isEmpty ? "" : ":")\n"
                for movement in list.prefix(listed) {
                    out += "    \(movement.fixture.location): label \(movement.fixture.label!), \(JSONValue.format(number: movement.old)) → "
                        + "\(JSONValue.format(number: movement.new))  \(CheckReport.shorten(movement.fixture.message, limit: 70))\n"
                }
                if list.count > listed { out += "    … and \(list.count - listed) more\n" }
            }
        }
        return out
    }

    public var json: JSONValue {
        .array(sets.map { set in
            func movements(_ list: [Movement]) -> JSONValue {
                .array(list.map { ["location": .string($0.fixture.location), "message": .string($0.fixture.message),
                                   "label": .integer(Int64($0.fixture.label!)), "old": .number($0.old), "new": .number($0.new)] })
            }
            return ["file": .string(set.file), "old": set.old.json, "new": set.new.json,
                    "better": movements(set.better), "worse": movements(set.worse)]
        })
    }
}

/// Which rules fired on the fixtures: how many fixtures each item of the rules' `inventory()` (tier keywords,
/// modifiers, intents, concepts…) fired on, by the `fired` list each breakdown carries, and the items that
/// never fired (dead rules, or rules no fixture covers).
public struct Coverage: Sendable {
    public var counts: [(item: String, fixtures: Int)]
    public var neverFired: [String]
    /// Items breakdowns named that the inventory does not list.
    public var unlisted: [String]

    public init(results: [FixtureResult], inventory: [String]) {
        var counts: [String: Int] = [:]
        for result in results {
            guard case .array(let fired)? = result.breakdown?.rules["fired"] else { continue }
            for name in Set(fired.compactMap(\.stringValue)) { counts[name, default: 0] += 1 }
        }
        let listed = Swift.Set(inventory)
        self.counts = inventory.filter { counts[$0] != nil }.map { ($0, counts[$0]!) }.sorted { $0.fixtures > $1.fixtures }
        neverFired = inventory.filter { counts[$0] == nil }
        unlisted = counts.keys.filter { !listed.contains($0) }.sorted()
    }

    public func text() -> String {
        var out = "coverage: \(counts.count) of \(counts.count + neverFired.count) rules fired on at least one fixture\n"
        for (item, fixtures) in counts { out += "  \(String(fixtures).leftPadded(6))  \(item)\n" }
        out += "never fired (\(neverFired.count)):\n"
        for item in neverFired { out += "          \(item)\n" }
        if !unlisted.isEmpty { out += "fired but not in inventory(): \(unlisted.joined(separator: ", "))\n" }
        return out
    }

    public var json: JSONValue {
        ["fired": .object(Dictionary(uniqueKeysWithValues: counts.map { ($0.item, JSONValue.integer(Int64($0.fixtures))) })),
         "never_fired": .array(neverFired.map(JSONValue.string)), "unlisted": .array(unlisted.map(JSONValue.string))]
    }
}
