/// The limits every evaluation and every Lua state runs under. Defaults are generous for real rules (the
/// shipped rules use a few hundred instructions and well under a megabyte per message) and tight enough that
/// a runaway rule costs milliseconds, not the server.
public struct EngineLimits: Sendable, Equatable {
    /// Bytes one Lua state may hold (rules, compiled tables and the garbage of evaluations).
    public var memoryPerState: Int = 64 << 20
    /// The budget all the states built with these limits share, on top of `memoryPerState`; nil: none.
    public var sharedMemory: LuaMemoryBudget?
    /// VM instructions one `score()` call may run.
    public var instructionsPerEvaluation: Int = 10_000_000
    /// VM instructions loading the rules (running their top-level code) may run.
    public var instructionsForLoading: Int = 200_000_000
    /// PCRE2 match limit per regex match (backtracking steps): bounds catastrophic patterns.
    public var regexMatchLimit: UInt32 = 1_000_000
    /// PCRE2 depth limit per regex match.
    public var regexDepthLimit: UInt32 = 100_000
    /// Log lines one evaluation may write; the rest are dropped.
    public var logLinesPerEvaluation: Int = 20
    /// Idle Lua states kept per rule set version.
    public var idleStates: Int = 16

    public init() {}
}
