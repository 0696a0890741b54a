import Foundation
import RulesEngine

/// What `llm.complete` answers while a new message is scored in background mode: no call, the reason `pending`,
/// and a note that the rules asked for the model, so the message is queued for a refiner. Rules that do not call
/// `llm.complete` for a message (they decided it is not worth a model call) leave it unqueued, with their reason
/// in the breakdown. When today's token budget is spent the answer is `budget` and nothing is queued.
///
/// One per evaluation.
final class DeferredLLMCall: LLMClient, @unchecked Sendable {
    private let budgetSpent: Bool
    private let lock = NSLock()
    private var asked = false

    init(budgetSpent: Bool) { self.budgetSpent = budgetSpent }

    func complete(_ request: LLMRequest) -> LLMResult {
        guard !budgetSpent else { return .skipped("budget") }
        lock.lock()
        asked = true
        lock.unlock()
        return .skipped(LLMBreakdownState.pendingReason)
    }

    /// Whether the rules asked for the model during the evaluation.
    var wasRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return asked
    }
}
