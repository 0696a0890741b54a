import CLuaHost

/// A cap on the memory of many Lua states together (every state a server builds, or every state of one
/// candidate check), on top of each state's own cap, so that many evaluations running into their caps at
/// once cannot take the process with them. A state that would pass it fails its evaluation with a memory
/// error, as at its own cap.
public final class LuaMemoryBudget: @unchecked Sendable, Equatable {
    let raw: OpaquePointer

    /// A budget of `limit` bytes.
    public init(limit: Int) {
        raw = uiq_budget_new(limit)
    }

    deinit { uiq_budget_free(raw) }

    /// Bytes the states drawing from it hold (reserved in 256 KiB steps).
    public var used: Int { Int(uiq_budget_used(raw)) }
    public var limit: Int { Int(uiq_budget_limit(raw)) }

    public static func == (a: LuaMemoryBudget, b: LuaMemoryBudget) -> Bool { a === b }
}
