import Foundation
import Support

/// The tokens the model was billed for today (UTC), from the responses' `usage`, and the daily budget
/// (`LLM_DAILY_TOKEN_BUDGET`): once spent, calls are skipped with the reason `budget` until the next UTC day,
/// and that is logged once.
///
/// Calls are counted here at once and added to the store's per-day totals once a second (`flush`), so every server
/// of a fleet counts against one budget; between flushes a server sees the others' calls up to a second late.
final class LLMUsageLedger: @unchecked Sendable {
    let budget: Int?
    private let lock = NSLock()
    private let clock: @Sendable () -> Date
    private var day: String
    /// Counted here and not yet added to the store.
    private var unflushed = LLMUsage()
    /// Today's totals in the store (every server's), as of the last flush.
    private var stored = LLMUsage()
    /// The day whose spent budget was logged.
    private var announced: String?

    init(budget: Int?, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.budget = budget
        self.clock = clock
        day = LLMUsageLedger.day(of: clock())
    }

    /// One call's usage (tokens 0 when the response did not say).
    func record(inputTokens: Int, outputTokens: Int) {
        lock.lock()
        rollOverLocked()
        unflushed = unflushed + LLMUsage(calls: 1, inputTokens: max(0, inputTokens), outputTokens: max(0, outputTokens))
        lock.unlock()
    }

    /// Today's usage: the store's totals as last read plus what this server counted since.
    var today: (day: String, usage: LLMUsage) {
        lock.lock()
        defer { lock.unlock() }
        rollOverLocked()
        return (day, stored + unflushed)
    }

    /// Whether today's budget is spent (logged the first time it is found so on a day).
    var isExhausted: Bool {
        guard let budget else { return false }
        lock.lock()
        rollOverLocked()
        let spent = (stored + unflushed).totalTokens
        let exhausted = spent >= budget
        let announce = exhausted && announced != day
        if announce { announced = day }
        let today = day
        lock.unlock()
        if announce {
            OperationsLog.shared.report("llm_budget", "the daily token budget is spent: the LLM step is skipped (reason budget) until 00:00 UTC",
                                        level: "warning", [("day", today), ("budget", String(budget)), ("spent", String(spent))])
        }
        return exhausted
    }

    /// Adds what was counted since the last flush to the store's totals for its day, and reads the fleet's totals
    /// (only reads them when nothing was counted: an idle server writes nothing).
    func flush(to store: any RefinementStore) {
        lock.lock()
        rollOverLocked()
        let pending = unflushed, pendingDay = day
        unflushed = LLMUsage()
        lock.unlock()
        do {
            let total = pending.isEmpty ? try store.llmUsage(day: pendingDay) : try store.addLLMUsage(pending, day: pendingDay)
            lock.lock()
            if day == pendingDay { stored = total }
            lock.unlock()
        } catch {
            lock.lock()
            if day == pendingDay { unflushed = unflushed + pending }  // counted again next time
            lock.unlock()
        }
    }

    private func rollOverLocked() {
        let now = LLMUsageLedger.day(of: clock())
        guard now != day else { return }
        day = now
        unflushed = LLMUsage()
        stored = LLMUsage()
    }

    /// `2026-11-30` for a time on that UTC day.
    static func day(of date: Date) -> String {
        String(Timestamp(microseconds: Int64(date.timeIntervalSince1970 * 1_000_000)).isoformat.prefix(10))
    }
}
