/// An error in the rules, from loading them (`RulesError`) or from one evaluation (`ScoringError`): what kind,
/// the rule file and line when Lua knows them, and what went wrong.
public struct RuleFault<Kind: RawRepresentable & Sendable & Hashable>: Error, Sendable, Equatable, CustomStringConvertible
where Kind.RawValue == String {
    public var kind: Kind
    /// Rule file (relative path) the error points into, when known.
    public var file: String?
    /// Line in that file, when known.
    public var line: Int?
    /// The message without the `file:line:` prefix.
    public var message: String

    public init(kind: Kind, file: String? = nil, line: Int? = nil, message: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, as compilers print it.
    public var description: String {
        switch (file, line) {
        case let (file?, line?): "\(file):\(line): \(message)"
        case let (file?, nil): "\(file): \(message)"
        default: message
        }
    }
}

/// Why a rule set could not be loaded: which file and line when Lua knows them, and what went wrong.
public typealias RulesError = RuleFault<RulesFailure>

/// The ways loading a rule set fails.
public enum RulesFailure: String, Sendable {
    /// The directory or a file in it cannot be read.
    case unreadable
    /// The directory has no `urgency.lua`.
    case missingEntry
    /// A file or the whole set is over the size limits.
    case tooLarge
    /// A file does not parse.
    case syntax
    /// Running the files raised an error.
    case runtime
    /// Loading ran past the memory cap or the instruction budget.
    case limit
    /// `urgency.lua` does not define a global function `score`.
    case missingScore
    /// The rules loaded but failed to score the probe message.
    case probe
}

extension RuleFault where Kind == RulesFailure {
    init(loading error: LuaError) {
        let location = SourceLocation(parsing: error.message)
        var kind: Kind
        switch error.kind {
        case .syntax: kind = .syntax
        case .runtime: kind = .runtime
        case .memory, .instructionBudget: kind = .limit
        }
        if kind == .runtime, location.message.hasPrefix("syntax error:") { kind = .syntax }
        self.init(kind: kind, file: location.file, line: location.line, message: location.message)
    }
}

/// The `file:line:` prefix Lua puts on error messages, taken apart.
struct SourceLocation {
    var file: String?
    var line: Int?
    var message: String

    /// Splits `lib/tiers.lua:12: attempt to …` into file, line and message; leaves other text whole.
    init(parsing text: String) {
        message = text
        guard let firstColon = text.firstIndex(of: ":") else { return }
        let candidate = text[..<firstColon]
        guard !candidate.isEmpty, !candidate.contains(" "), !candidate.hasPrefix("[") else { return }
        let rest = text[text.index(after: firstColon)...]
        guard let secondColon = rest.firstIndex(of: ":"), let number = Int(rest[..<secondColon]) else { return }
        file = String(candidate)
        line = number
        var tail = rest[rest.index(after: secondColon)...]
        if tail.first == " " { tail = tail.dropFirst() }
        message = String(tail)
    }
}
