/// Why one evaluation failed: the rule raised an error, ran past a limit, or returned something that is
/// not a finite number. The Lua state and the other evaluations are unaffected.
public struct ScoringError: RuleFileError, Equatable {
    public enum Kind: String, Sendable {
        /// `score()` raised an error.
        case runtime
        /// The evaluation ran past its instruction budget.
        case instructionBudget = "instruction_budget"
        /// The evaluation ran past the state's memory cap.
        case memory
        /// `score()` returned something other than a finite number.
        case invalidResult = "invalid_result"
    }

    public var kind: Kind
    public var file: String?
    public var line: Int?
    public var message: String

    public init(kind: Kind, file: String? = nil, line: Int? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.message = message
    }

    init(evaluating error: LuaError) {
        let location = SourceLocation(parsing: error.message)
        let kind: Kind = switch error.kind {
        case .instructionBudget: .instructionBudget
        case .memory: .memory
        case .syntax, .runtime: .runtime
        }
        var message = location.message
        if kind == .memory, message == "not enough memory" { message = "memory cap of the rules VM exceeded" }
        self.init(kind: kind, file: location.file, line: location.line, message: message)
    }
}
