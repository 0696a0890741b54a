import Foundation
import Support

/// What a rule change moves: every message scored by the old and the new rules, the ones whose score changes
/// with both breakdowns, and a summary a reviewer reads before approving the change.
public struct RulesDiff: Sendable {
    /// A message to score with both rule sets, and where it came from.
    public struct Case: Sendable {
        public var source: String
        public var message: String
        public var options: ScoringOptions

        public init(source: String, message: String, options: ScoringOptions) {
            self.source = source
            self.message = message
            self.options = options
        }
    }

    /// One side of a comparison.
    public struct Outcome: Sendable {
        public var score: Double?
        public var error: String?
        public var breakdown: Breakdown?

        /// The tier the rules reported (`tier.name` in the breakdown), or "none".
        public var tier: String { breakdown?.rules["tier"]?["name"]?.stringValue ?? "none" }
        /// The urgency band, 1 to 5 (the score rounded down), or "error".
        public var band: String { score.map { String(Int(max(1, min(5, $0.rounded(.down))))) } ?? "error" }
    }

    public struct Change: Sendable {
        public var source: String
        public var message: String
        public var old: Outcome
        public var new: Outcome

        /// new − old, when both scored.
        public var shift: Double? {
            guard let old = old.score, let new = new.score else { return nil }
            return new - old
        }
    }

    public var oldVersion: String
    public var newVersion: String
    public var total: Int
    public var changes: [Change]
    /// Old tier → new tier → messages, over every message compared.
    public var tierMatrix: [String: [String: Int]]
    /// Old urgency band → new band → messages.
    public var bandMatrix: [String: [String: Int]]
    /// Sum of (new − old) over every message that scored with both.
    public var totalShift: Double

    /// Scores every case with both scorers (on all cores) and collects what changed.
    public static func compare(_ cases: [Case], old: Scorer, new: Scorer,
                               progress: (@Sendable (Int) -> Void)? = nil) -> RulesDiff {
        summarize(cases, parallelMap(cases, progress: progress) { item in (outcome(old, item), outcome(new, item)) }, old: old, new: new)
    }

    /// `compare`, unless `deadline` passes first.
    public static func compare(_ cases: [Case], old: Scorer, new: Scorer, deadline: Deadline) throws(DeadlineExceeded) -> RulesDiff {
        summarize(cases, try parallelMap(cases, .cores(chunk: 16), deadline: deadline) { item in (outcome(old, item), outcome(new, item)) },
                  old: old, new: new)
    }

    private static func summarize(_ cases: [Case], _ outcomes: [(Outcome, Outcome)], old: Scorer, new: Scorer) -> RulesDiff {
        var diff = RulesDiff(oldVersion: old.rulesVersion, newVersion: new.rulesVersion, total: cases.count, changes: [],
                             tierMatrix: [:], bandMatrix: [:], totalShift: 0)
        for (i, (before, after)) in outcomes.enumerated() {
            diff.tierMatrix[before.tier, default: [:]][after.tier, default: 0] += 1
            diff.bandMatrix[before.band, default: [:]][after.band, default: 0] += 1
            if let a = before.score, let b = after.score { diff.totalShift += b - a }
            if before.score != after.score || before.error != after.error {
                diff.changes.append(Change(source: cases[i].source, message: cases[i].message, old: before, new: after))
            }
        }
        return diff
    }

    private static func outcome(_ scorer: Scorer, _ item: Case) -> Outcome {
        var options = item.options
        options.explain = true
        do {
            let score = try scorer.score(ScoringInput(text: item.message), options: options)
            return Outcome(score: score.value, error: nil, breakdown: score.breakdown)
        } catch {
            return Outcome(score: nil, error: error.description, breakdown: nil)
        }
    }

    /// Mean of (new − old) over the messages that changed and scored on both sides.
    public var meanShiftOfChanges: Double {
        let shifts = changes.compactMap(\.shift)
        return shifts.isEmpty ? 0 : shifts.reduce(0, +) / Double(shifts.count)
    }

    /// Mean of (new − old) over every message.
    public var meanShift: Double { total == 0 ? 0 : totalShift / Double(total) }

    // MARK: Reports

    public var summary: String {
        "diff: \(changes.count) of \(total) messages change score (mean shift \(RulesDiff.signed(meanShiftOfChanges)) on those, "
            + "\(RulesDiff.signed(meanShift)) over all); rules \(oldVersion) → \(newVersion)"
    }

    /// Each change with both breakdowns, then the summary and the matrices.
    public func text() -> String {
        var out = ""
        for change in changes {
            out += "\(change.source): \(CheckReport.shorten(change.message))\n"
            let old = change.old.score.map { JSONValue.format(number: $0) } ?? "error"
            let new = change.new.score.map { JSONValue.format(number: $0) } ?? "error"
            out += "  \(old) → \(new)" + (change.shift.map { " (\(RulesDiff.signed($0)))" } ?? "") + "\n"
            out += "  old:\n" + RulesDiff.render(change.old) + "\n"
            out += "  new:\n" + RulesDiff.render(change.new) + "\n"
        }
        out += summary + "\n"
        out += RulesDiff.matrixText(tierMatrix, title: "tiers (rows: old rules, columns: new rules)",
                                    order: ["critical", "high", "medium", "low", "minimal", "none"])
        out += RulesDiff.matrixText(bandMatrix, title: "urgency bands (rows: old, columns: new)",
                                    order: ["5", "4", "3", "2", "1", "error"])
        return out
    }

    private static func render(_ outcome: Outcome) -> String {
        if let breakdown = outcome.breakdown { return BreakdownText.render(breakdown, indent: "    ") }
        return "    error: \(outcome.error ?? "?")"
    }

    static func signed(_ value: Double) -> String {
        let rounded = (value * 100).rounded() / 100
        return (rounded >= 0 ? "+" : "") + JSONValue.format(number: rounded).replacingOccurrences(of: ".0$", with: "", options: .regularExpression)
    }

    private static func matrixText(_ matrix: [String: [String: Int]], title: String, order: [String]) -> String {
        let labels = Set(matrix.keys).union(matrix.values.flatMap(\.keys))
        let ordered = order.filter(labels.contains) + labels.subtracting(order).sorted()
        let width = max(8, (ordered.map(\.count).max() ?? 0) + 2)
        func pad(_ text: String) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        var out = title + ":\n" + pad("") + ordered.map(pad).joined() + "\n"
        for row in ordered where matrix[row] != nil {
            out += pad(row) + ordered.map { pad(String(matrix[row]?[$0] ?? 0)) }.joined() + "\n"
        }
        return out
    }

    /// `{old_version, new_version, total, changed, mean_shift_of_changes, mean_shift, changes: [...],
    /// tier_matrix, band_matrix}`.
    public var json: JSONValue {
        func side(_ outcome: Outcome) -> JSONValue {
            var object: [String: JSONValue] = ["urgency": outcome.score.map(JSONValue.number) ?? .null, "tier": .string(outcome.tier)]
            if let breakdown = outcome.breakdown { object["breakdown"] = breakdown.json }
            if let error = outcome.error { object["error"] = .string(error) }
            return .object(object)
        }
        func matrix(_ m: [String: [String: Int]]) -> JSONValue {
            .object(m.mapValues { row in .object(row.mapValues { .integer(Int64($0)) }) })
        }
        return [
            "old_version": .string(oldVersion), "new_version": .string(newVersion),
            "total": .integer(Int64(total)), "changed": .integer(Int64(changes.count)),
            "mean_shift_of_changes": .number(meanShiftOfChanges), "mean_shift": .number(meanShift),
            "changes": .array(changes.map { change in
                ["source": .string(change.source), "message": .string(change.message), "old": side(change.old),
                 "new": side(change.new)]
            }),
            "tier_matrix": matrix(tierMatrix), "band_matrix": matrix(bandMatrix),
        ]
    }
}
