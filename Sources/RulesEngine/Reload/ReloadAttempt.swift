import Foundation

/// One attempt to load the rules directory and activate it: why it ran, what came of it, how long it took.
public struct ReloadAttempt: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        /// The new version is serving.
        case activated
        /// The files did not change: the same version keeps serving.
        case unchanged
        /// The rules failed to load, the probe or the gate: the previous version keeps serving.
        case rejected
    }

    public var trigger: String
    public var startedAt: Date
    public var duration: TimeInterval
    public var outcome: Outcome
    /// The version of the files looked at (nil when they could not even be read).
    public var candidateVersion: String?
    /// Why the attempt was rejected: `file:line: message`, or the gate's summary.
    public var error: String?
    /// The gate's results, when a gate is configured and the rules loaded.
    public var gate: GateResult?
}

/// What the golden-fixture gate said about a candidate rule set.
public struct GateResult: Sendable {
    public var directory: String
    public var passed: Int
    public var failed: Int
    /// The first failures, as `file:line: expected X, got Y`.
    public var failures: [String]
}
