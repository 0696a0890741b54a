/// Why one evaluation failed: the rule raised an error, ran past a limit, or returned something that is
/// not a finite number. The Lua state and the other evaluations are unaffected.
public typealias ScoringError = RuleFault<ScoringFailure>

/// The ways one evaluation fails.
public enum ScoringFailure: String, Sendable {
    /// `score()` raised an error.
    case runtime
    /// The evaluation ran past its instruction budget.
    case instructionBudget = "instruction_budget"
    /// The evaluation ran past the state's memory cap.
    case memory
    /// `score()` returned something other than a finite number.
    case invalidResult = "invalid_result"
}

extension RuleFault where Kind == ScoringFailure {
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
