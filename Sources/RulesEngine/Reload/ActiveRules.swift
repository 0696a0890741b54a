import Foundation
import Synchronization

/// The rule set serving right now, what happened to the versions before it, and the last reload attempt.
///
/// Readers take the current scorer for one evaluation (an evaluation in flight finishes on the version it
/// started with); a reload swaps in a new one atomically.
public final class ActiveRules: Sendable {
    /// A version that has served: when it was activated (and replaced), and its counts.
    public struct VersionRecord: Sendable {
        public var version: String
        public var activatedAt: Date
        public var deactivatedAt: Date?
        public var statistics: ScoringStatistics
    }

    private struct State {
        var scorer: Scorer
        var activatedAt: Date
        var history: [VersionRecord]
        var lastAttempt: ReloadAttempt?
        var attemptCounts: [ReloadAttempt.Outcome: Int] = [:]
        var attempts: [ReloadAttempt] = []

        static func record(_ attempt: ReloadAttempt, in state: inout State) {
            state.lastAttempt = attempt
            state.attemptCounts[attempt.outcome, default: 0] += 1
            state.attempts.append(attempt)
            if state.attempts.count > ActiveRules.attemptsKept { state.attempts.removeFirst() }
        }
    }

    /// Versions remembered in the history.
    public static let historyLength = 64
    /// Reload attempts remembered.
    public static let attemptsKept = 20

    private let state: Mutex<State>

    public init(_ scorer: Scorer, activatedAt: Date = Date()) {
        state = Mutex(State(scorer: scorer, activatedAt: activatedAt,
                            history: [VersionRecord(version: scorer.rulesVersion, activatedAt: activatedAt, statistics: scorer.statistics)],
                            lastAttempt: nil))
    }

    /// The scorer of the active version.
    public var scorer: Scorer { state.withLock { $0.scorer } }

    /// When the active version was activated.
    public var activatedAt: Date { state.withLock { $0.activatedAt } }

    /// The versions that served, newest first (the active one included).
    public var history: [VersionRecord] { state.withLock { $0.history.reversed() } }

    /// The last reload attempt, if any.
    public var lastAttempt: ReloadAttempt? { state.withLock { $0.lastAttempt } }

    /// The last reload attempts (up to `attemptsKept`), newest first.
    public var recentAttempts: [ReloadAttempt] { state.withLock { $0.attempts.reversed() } }

    /// How many reload attempts ended in each outcome since the start.
    public var attemptCounts: [ReloadAttempt.Outcome: Int] { state.withLock { $0.attemptCounts } }

    /// Makes `scorer` the active version; with `attempt`, records the reload that activated it in the same step.
    public func activate(_ scorer: Scorer, at time: Date = Date(), recording attempt: ReloadAttempt? = nil) {
        state.withLock { state in
            if let attempt { State.record(attempt, in: &state) }
            if let last = state.history.indices.last { state.history[last].deactivatedAt = time }
            state.scorer = scorer
            state.activatedAt = time
            state.history.append(VersionRecord(version: scorer.rulesVersion, activatedAt: time, statistics: scorer.statistics))
            if state.history.count > ActiveRules.historyLength { state.history.removeFirst() }
        }
    }

    func record(_ attempt: ReloadAttempt) {
        state.withLock { State.record(attempt, in: &$0) }
    }

    /// Adds an attempt to the recent ones only: not counted, not the last attempt (a repeated answer).
    func remember(_ attempt: ReloadAttempt) {
        state.withLock { state in
            state.attempts.append(attempt)
            if state.attempts.count > ActiveRules.attemptsKept { state.attempts.removeFirst() }
        }
    }
}
