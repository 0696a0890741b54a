import Synchronization

/// How many evaluations one rules version has run and how many failed (errors, limits, results that are not
/// numbers). Shared by the version's Scorer and the history of versions, so counts outlive the Scorer.
public final class ScoringStatistics: Sendable {
    private let evaluationCount = Atomic<Int>(0)
    private let errorCount = Atomic<Int>(0)

    public init() {}

    public var evaluations: Int { evaluationCount.load(ordering: .relaxed) }
    public var errors: Int { errorCount.load(ordering: .relaxed) }

    /// Forgets the counts (the probe evaluation a rule set runs before it is accepted does not count).
    func reset() {
        evaluationCount.store(0, ordering: .relaxed)
        errorCount.store(0, ordering: .relaxed)
    }

    func recordEvaluation(failed: Bool) {
        recordEvaluations(1, failed: failed ? 1 : 0)
    }

    /// Counts a run of evaluations at once (bulk scoring: one update of the shared counters per run).
    func recordEvaluations(_ count: Int, failed: Int) {
        evaluationCount.add(count, ordering: .relaxed)
        if failed > 0 { errorCount.add(failed, ordering: .relaxed) }
    }
}
