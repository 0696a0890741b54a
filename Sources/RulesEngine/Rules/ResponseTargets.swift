import Support

/// How fast a message must first be answered, by urgency level, as the rules declare it (`sla`):
/// `sla = { [5] = "15m", [4] = "1h", [3] = "4h", [2] = "1d", [1] = "3d" }`. A duration is a number of seconds or
/// text with a unit: `90s`, `15m`, `4h`, `1d`. Levels the rules leave out have no target.
public struct ResponseTargets: Sendable, Equatable {
    /// Seconds by level (1–5).
    public let seconds: [Int: Double]

    public init(seconds: [Int: Double]) { self.seconds = seconds }

    /// The target for a score: its level is the score rounded, from 1 to 5.
    public func seconds(forScore score: Double) -> Double? {
        guard score.isFinite else { return nil }
        return seconds[min(5, max(1, Int(score.rounded())))]
    }

    /// The targets in `sla` as the rules returned it (a list by level, or a table keyed by level).
    init(declared value: JSONValue) throws(RulesError) {
        var entries: [(Int, JSONValue)] = []
        switch value {
        case .array(let items):
            entries = items.enumerated().map { ($0.offset + 1, $0.element) }
        case .object(let members):
            for (key, item) in members {
                guard let level = Int(key) else {
                    throw RulesError(kind: .runtime, file: RuleSet.entryFile, message: "sla: keys are urgency levels 1 to 5, got '\(key)'")
                }
                entries.append((level, item))
            }
        default:
            throw RulesError(kind: .runtime, file: RuleSet.entryFile,
                             message: "sla must be a table of response targets by urgency level, e.g. { [5] = \"15m\", [4] = \"1h\" }")
        }
        var seconds: [Int: Double] = [:]
        for (level, item) in entries {
            guard (1...5).contains(level) else {
                throw RulesError(kind: .runtime, file: RuleSet.entryFile, message: "sla: levels are 1 to 5, got \(level)")
            }
            guard let duration = ResponseTargets.duration(item) else {
                throw RulesError(kind: .runtime, file: RuleSet.entryFile,
                                 message: "sla[\(level)]: a duration is a number of seconds or text like 90s, 15m, 4h, 1d")
            }
            seconds[level] = duration
        }
        self.seconds = seconds
    }

    /// Seconds from `90`, `"90s"`, `"15m"`, `"4h"`, `"1d"` (positive, at most a year); nil for anything else.
    public static func duration(_ value: JSONValue) -> Double? {
        let seconds: Double?
        switch value {
        case .number(let number): seconds = number
        case .integer(let number): seconds = Double(number)
        case .string(let text):
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
            if let unit = text.last.flatMap({ units[$0] }), let amount = Double(text.dropLast()) {
                seconds = amount * unit
            } else {
                seconds = Double(text)
            }
        default: seconds = nil
        }
        guard let seconds, seconds.isFinite, seconds > 0, seconds <= 366 * 86_400 else { return nil }
        return seconds
    }
}
