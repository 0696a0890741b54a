import Foundation
import RulesEngine
import Support
import Synchronization

/// The LLM step in the background (`LLM_MODE=background`): takes queued messages from the store (most urgent by
/// keyword score and newest first), has the active rules score each again with the live model, and stores the
/// blended score, breakdown and rules version in place of the keyword score (a `message.updated` event with
/// change `refine` tells live subscribers and webhooks).
///
/// A failure that may pass (timeout, 5xx, connection error, busy, circuit open) is retried later with backoff, up
/// to `LLM_REFINE_ATTEMPTS`; a 429 or the rate limit pauses the claiming until the provider allows more (and
/// counts no attempt). Beyond the backlog limit (`LLM_MAX_BACKLOG`) the least urgent and oldest keep their keyword
/// score with the reason `backlog`. Also adds the tokens counted by the client to the store's daily totals once a
/// second (the budget every server of a fleet shares).
final class LLMRefiner: @unchecked Sendable {
    private let store: any Store
    private let scoring: ScoringService
    private let configuration: LLMConfiguration
    /// Calls the refiners make at once: `LLM_MAX_CONCURRENCY`.
    private let concurrency: Int
    private let calls: WorkerPool
    private let busy = Atomic<Int>(0)
    private var worker: RepeatingWorker?
    private let lastTrim = Atomic<Int64>(0)
    private let lastFlush = Atomic<Int64>(0)
    private let lastCount = Atomic<Int64>(0)
    private let counts = Mutex(Counts())
    /// The queue as last counted (each round) plus the messages admitted since: what `admit` decides on.
    private let admission = Mutex(Admission())

    private struct Admission {
        var depth = 0
        var lowestPriority: Double?
    }

    private struct Counts {
        var refined = 0
        var retried = 0
        var skipped: [String: Int] = [:]
        /// When recent refinements finished (microseconds), for the rate over the last minute.
        var recent: [Int64] = []
    }

    init(store: any Store, scoring: ScoringService) {
        self.store = store
        self.scoring = scoring
        configuration = scoring.llmClient.configuration
        concurrency = configuration.maximumConcurrency
        calls = WorkerPool(threads: concurrency, queueLimit: concurrency * 2, name: "llm-refiner")
        // Idle, the queue is looked at every 0.25 s (other servers' messages, retries coming due); a message queued
        // here wakes it at once.
        worker = RepeatingWorker(name: "llm-refine", pause: 0.25) { [unowned self] in round() }
    }

    func start() { worker?.start() }

    /// Stops claiming, lets the calls in flight finish (each within its deadline) and records them.
    func stop() {
        worker?.stop()
        calls.stop()
        scoring.llmClient.usage.flush(to: store)
    }

    /// A message was queued: claim it now rather than at the next look (when a call slot is free to take it).
    func wake() {
        if busy.load(ordering: .relaxed) < concurrency { worker?.wake() }
    }

    /// Whether a new message with keyword score `priority` gets into the queue: always while it is below the
    /// backlog count; when full, only when it is more urgent than the least urgent waiting (which the next trim then
    /// drops). A message refused here keeps its keyword score with the reason `backlog` and costs the store nothing
    /// more, so a burst far beyond what the model can do adds no write per message beyond the message itself.
    func admit(priority: Double) -> Bool {
        guard let limit = configuration.maximumBacklog else { return true }
        let admitted = admission.withLock { state in
            let admitted = state.depth < limit || state.lowestPriority.map { priority > $0 } ?? true
            if admitted {
                state.depth += 1
                state.lowestPriority = min(state.lowestPriority ?? priority, priority)
            }
            return admitted
        }
        if !admitted { counts.withLock { $0.skipped["backlog", default: 0] += 1 } }
        return admitted
    }

    /// One look at the queue: trims the backlog, flushes the token counts, claims as many due messages as there are
    /// free call slots and hands each to a call thread. True when every slot got one (there may be more).
    private func round() -> Bool {
        let now = Timestamp.now()
        flushUsage(now: now)
        // While the step is off nothing is claimed, but what waits still ages out of the queue (reason backlog).
        trimBacklog(now: now)
        guard scoring.llm.isEnabled, configuration.hasKey else { return false }
        refreshAdmission(now: now)
        let free = concurrency - busy.load(ordering: .relaxed)
        // No slot, or the provider asked us to wait (429) / the per-minute limits are spent: nothing is claimed, so
        // no message sits claimed while it cannot be sent.
        guard free > 0, scoring.llmClient.limiter.delay() <= 0, scoring.llmClient.circuitOpenUntil == nil else { return false }
        // Claimed until the call has surely ended (its deadline bounds it) and been recorded; a server that dies
        // gives its claims back then.
        let lease = Timestamp(microseconds: now.microseconds + Int64(2 * configuration.timeoutMilliseconds + 5000) * 1000)
        let jobs: [RefinementJob]
        do {
            jobs = try store.claimRefinements(now: now, limit: free, leaseUntil: lease)
        } catch {
            OperationsLog.shared.report("llm_refine_failure", "queued messages cannot be claimed", [("detail", "\(error)")])
            return false
        }
        for job in jobs {
            busy.add(1, ordering: .relaxed)
            let submitted = calls.submit { [self] in
                finish(refine(job))
                busy.subtract(1, ordering: .relaxed)
                wake()
            }
            if !submitted {  // stopping: the claim runs out and another round (or server) takes it
                busy.subtract(1, ordering: .relaxed)
            }
        }
        return !jobs.isEmpty && jobs.count == free
    }

    /// Scores a queued message again with the live model, as the active rules say.
    func refine(_ job: RefinementJob) -> RefinementResult {
        let recorder = RecordingLLMClient(scoring.llmClient)
        let input = ScoringInput(text: job.body, customerID: job.customerID)
        let scorer = scoring.rules.scorer
        let (score, error) = scorer.scoreOrFallback(input, options: ScoringOptions(explain: true, llmEnabled: true, llm: .live(recorder)))
        if let error {
            scoring.logFailure(error, version: scorer.rulesVersion, input: input, messageID: job.messageID)
            return RefinementResult(messageID: job.messageID, claim: job.claim, outcome: .skipped(reason: "rules failed"))
        }
        if let failure = recorder.results.compactMap(\.reason).first(where: RefinementFailure.isTransient) {
            let now = Date()
            if RefinementFailure.isRateLimit(failure) {
                let resume = scoring.llmClient.limiter.pausedUntilDate ?? now.addingTimeInterval(1)
                return RefinementResult(messageID: job.messageID, claim: job.claim,
                                        outcome: .retry(at: Timestamp(resume), reason: failure, countsAsAttempt: false))
            }
            if failure == "circuit open" {
                // The endpoint is failing and the breaker stops calls for its cooldown: wait for it, and it costs no
                // attempt (the failures that opened it were counted on the messages that met them).
                let resume = scoring.llmClient.circuitOpenUntil ?? now.addingTimeInterval(1)
                return RefinementResult(messageID: job.messageID, claim: job.claim,
                                        outcome: .retry(at: Timestamp(resume), reason: failure, countsAsAttempt: false))
            }
            guard job.attempts + 1 < configuration.refinementAttempts else {
                return RefinementResult(messageID: job.messageID, claim: job.claim, outcome: .skipped(reason: failure))
            }
            // 1 s, 2 s, 4 s … at most a minute, with jitter.
            let backoff = min(60, pow(2, Double(job.attempts))) * Double.random(in: 0.75...1.25)
            return RefinementResult(messageID: job.messageID, claim: job.claim,
                                    outcome: .retry(at: Timestamp(now.addingTimeInterval(backoff)), reason: failure, countsAsAttempt: true))
        }
        var breakdown = score.breakdown ?? Breakdown(urgency: score.value, rulesVersion: score.rulesVersion, evaluationMicroseconds: 0, rules: [:])
        LLMBreakdownState.annotate(&breakdown)
        let update = ScoreUpdate(id: job.messageID, urgency: score.value, rulesVersion: score.rulesVersion,
                                 breakdownJSON: breakdown.jsonText,
                                 responseDue: scorer.responseTargets?.due(createdAt: job.createdAt, score: score.value))
        return RefinementResult(messageID: job.messageID, claim: job.claim, outcome: .refined(update, replacing: job.rulesVersion))
    }

    private func finish(_ result: RefinementResult) {
        do {
            try store.finishRefinements([result])
        } catch {
            OperationsLog.shared.report("llm_refine_failure", "a refinement could not be recorded: the message is refined again later",
                                        [("message_id", String(result.messageID)), ("detail", "\(error)")])
            return
        }
        let now = Timestamp.now().microseconds
        counts.withLock { counts in
            switch result.outcome {
            case .refined:
                counts.refined += 1
                counts.recent.append(now)
                if counts.recent.count > 100_000 || (counts.recent.first.map { now - $0 > 60_000_000 } ?? false) {
                    counts.recent.removeAll { now - $0 > 60_000_000 }
                }
            case .retry: counts.retried += 1
            case .skipped(let reason): counts.skipped[reason, default: 0] += 1
            }
        }
    }

    /// Drops what the backlog limit does not keep (at most twice a second).
    private func trimBacklog(now: Timestamp) {
        guard configuration.maximumBacklog != nil || configuration.maximumBacklogAge != nil else { return }
        let last = lastTrim.load(ordering: .relaxed)
        guard now.microseconds - last >= 500_000 else { return }
        lastTrim.store(now.microseconds, ordering: .relaxed)
        let before = configuration.maximumBacklogAge.map { Timestamp(microseconds: now.microseconds - Int64($0 * 1_000_000)) }
        do {
            // In short transactions, so the message inserts queued behind each get in between.
            var dropped = 0, batch = 0
            repeat {
                batch = try store.trimRefinements(keeping: configuration.maximumBacklog, queuedBefore: before, now: now,
                                                  limit: LLMRefiner.trimBatch)
                dropped += batch
            } while batch == LLMRefiner.trimBatch
            if dropped > 0 {
                counts.withLock { $0.skipped["backlog", default: 0] += dropped }
                OperationsLog.shared.report("llm_backlog", "\(dropped) queued messages keep their keyword score: the backlog limit was reached",
                                            level: "warning", [("max_backlog", LLMRefiner.describeBacklog(configuration))])
            }
        } catch {
            OperationsLog.shared.report("llm_refine_failure", "the backlog cannot be trimmed", [("detail", "\(error)")])
        }
    }

    /// Counts the queue again for `admit` (at most ten times a second).
    private func refreshAdmission(now: Timestamp) {
        guard configuration.maximumBacklog != nil else { return }
        let last = lastCount.load(ordering: .relaxed)
        guard now.microseconds - last >= 100_000 else { return }
        lastCount.store(now.microseconds, ordering: .relaxed)
        if let queue = try? store.refinementQueue() {
            admission.withLock { $0 = Admission(depth: queue.depth, lowestPriority: queue.lowestPriority) }
        }
    }

    /// Adds the tokens counted since the last time to the store's daily totals (once a second).
    private func flushUsage(now: Timestamp) {
        let last = lastFlush.load(ordering: .relaxed)
        guard now.microseconds - last >= 1_000_000 else { return }
        lastFlush.store(now.microseconds, ordering: .relaxed)
        scoring.llmClient.usage.flush(to: store)
    }

    /// Messages dropped from the queue in one transaction.
    static let trimBatch = 256

    static func describeBacklog(_ configuration: LLMConfiguration) -> String {
        let parts = [configuration.maximumBacklog.map { "\($0) messages" },
                     configuration.maximumBacklogAge.map { "\(Int($0)) s" }].compactMap { $0 }
        return parts.isEmpty ? "off" : parts.joined(separator: ", ")
    }

    /// For `GET /api/llm/status`: the queue, what the refiners are doing and have done.
    func status(now: Timestamp = Timestamp.now()) -> JSONValue {
        let queue = try? store.refinementQueue()
        let counts = counts.withLock { $0 }
        let lastMinute = counts.recent.filter { now.microseconds - $0 <= 60_000_000 }.count
        return [
            "depth": queue.map { .integer(Int64($0.depth)) } ?? .null,
            "oldest_pending_age_s": queue?.oldestQueuedAt.map { .number(Double(max(0, now.microseconds - $0.microseconds) / 100_000) / 10) } ?? .null,
            "refining_now": .integer(Int64(busy.load(ordering: .relaxed))),
            "refined_last_minute": .integer(Int64(lastMinute)),
            "refined_per_second": .number((Double(lastMinute) / 60 * 100).rounded() / 100),
            "refined_total": .integer(Int64(counts.refined)),
            "retried_total": .integer(Int64(counts.retried)),
            "skipped_total": .object(counts.skipped.mapValues { .integer(Int64($0)) }),
            "max_backlog": configuration.maximumBacklog.map { .integer(Int64($0)) } ?? .null,
            "max_backlog_age_s": configuration.maximumBacklogAge.map { .number($0) } ?? .null,
            "refine_attempts": .integer(Int64(configuration.refinementAttempts)),
        ]
    }

    /// Refiner metrics: queue depth and oldest age, refinements by outcome.
    func writeMetrics(to text: inout PrometheusText) {
        let queue = try? store.refinementQueue()
        let counts = counts.withLock { $0 }
        text.family("urgencyiq_llm_queue_depth", "gauge", "Messages waiting for the LLM step in the background.")
        text.sample("urgencyiq_llm_queue_depth", queue?.depth ?? 0)
        text.family("urgencyiq_llm_queue_oldest_seconds", "gauge", "How long the oldest message waiting for the LLM step has waited.")
        text.sample("urgencyiq_llm_queue_oldest_seconds",
                    queue?.oldestQueuedAt.map { Double(max(0, Timestamp.now().microseconds - $0.microseconds)) / 1e6 } ?? 0)
        text.family("urgencyiq_llm_refinements_total", "counter", "Queued messages this server finished: refined, retried later, or skipped (by reason).")
        text.sample("urgencyiq_llm_refinements_total", [("outcome", "refined")], counts.refined)
        text.sample("urgencyiq_llm_refinements_total", [("outcome", "retried")], counts.retried)
        for (reason, count) in counts.skipped.sorted(by: { $0.key < $1.key }) {
            text.sample("urgencyiq_llm_refinements_total", [("outcome", "skipped"), ("reason", reason)], count)
        }
    }
}
