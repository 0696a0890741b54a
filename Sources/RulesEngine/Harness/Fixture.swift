import CLuaHost
import Support

/// One golden fixture: a message, the urgency the rules must give it (`expected`) or the urgency a person
/// judged it to have (`label`, for accuracy), and how to score it.
public struct Fixture: Sendable, Equatable {
    /// What the score must be.
    public enum Expectation: Sendable, Equatable, CustomStringConvertible {
        /// The score rounded to `decimals` (at least one) must equal `value`.
        case exactly(Double, decimals: Int)
        /// The score rounded to one decimal must lie in `lower...upper`.
        case range(Double, Double)

        /// Parses `4.5`, `5` or `3.5..5`; nil when it is neither.
        public init?(parsing text: String) {
            let text = text.trimmingCharacters(in: .whitespaces)
            if let separator = text.range(of: "..") {
                guard let lower = Expectation.number(text[..<separator.lowerBound]),
                      let upper = Expectation.number(text[separator.upperBound...]), lower <= upper else { return nil }
                self = .range(lower, upper)
                return
            }
            guard let value = Expectation.number(Substring(text)) else { return nil }
            let decimals = text.split(separator: ".", maxSplits: 1).dropFirst().first?.count ?? 0
            self = .exactly(value, decimals: max(1, decimals))
        }

        private static func number(_ text: Substring) -> Double? {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }),
                  let value = Double(trimmed), value.isFinite else { return nil }
            return value
        }

        /// Whether `score` meets the expectation.
        public func accepts(_ score: Double) -> Bool {
            switch self {
            case .exactly(let value, let decimals):
                return Fixture.round(score, decimals) == Fixture.round(value, decimals)
            case .range(let lower, let upper):
                let rounded = Fixture.round(score, 1)
                return lower <= rounded && rounded <= upper
            }
        }

        public var description: String {
            switch self {
            case .exactly(let value, _): JSONValue.format(number: value)
            case .range(let lower, let upper): "\(JSONValue.format(number: lower))..\(JSONValue.format(number: upper))"
            }
        }
    }

    /// The fixture file and the line the row starts on.
    public var file: String
    public var line: Int
    public var id: String?
    public var message: String
    /// What the score must be, for pass/fail fixtures (nil in a labelled set without expectations).
    public var expected: Expectation?
    /// A recorded LLM reply, replayed instead of calling a model.
    public var llmReply: String?
    public var llmEnabled: Bool
    public var tags: [String]
    public var note: String?
    /// The urgency from 1 to 5 a person gave the message, in accuracy sets.
    public var label: Int? = nil

    /// `file:line`, how failures are named.
    public var location: String { "\(file):\(line)" }

    /// Rounds as the rules do (`decimal.round`: Python's `round()`).
    static func round(_ value: Double, _ decimals: Int) -> Double { uiq_round_decimal(value, Int32(decimals)) }
}
