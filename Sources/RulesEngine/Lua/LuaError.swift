/// A failure reported by Lua: what kind, and the message (which carries `file:line:` when Lua knows it).
struct LuaError: Error, Sendable, CustomStringConvertible {
    enum Kind: Sendable {
        case syntax, runtime, memory, instructionBudget
    }

    var kind: Kind
    var message: String

    var description: String { message }
}
