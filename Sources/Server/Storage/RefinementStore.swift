import Support

/// The LLM step's durable queue (`LLM_MODE=background`): a message the rules want a model's opinion on is stored
/// with its keyword score and a queue row in one transaction, so no restart or `kill -9` loses it; refiners claim
/// rows (on PostgreSQL each by one server, `FOR UPDATE SKIP LOCKED`), ask the model, and replace the score. Also
/// the tokens the model was billed for per UTC day, shared by every server on the store (the daily budget).
public protocol RefinementStore: Sendable {
    /// Takes up to `limit` queued messages due at `now` and not claimed by another refiner, most urgent (by keyword
    /// score) and newest first. They stay claimed until `leaseUntil` (a refiner that dies gives them back then).
    func claimRefinements(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [RefinementJob]
    /// Records how refinements went, in one transaction. A result whose claim is no longer held (the lease ran out
    /// and another refiner took the message, or the backlog limit dropped it) changes nothing.
    func finishRefinements(_ results: [RefinementResult]) throws(StoreError)
    /// Drops from the queue what the backlog limit does not keep, each message keeping its keyword score with the
    /// reason `backlog`: beyond the `keeping` most urgent and newest, and everything queued before `queuedBefore`
    /// (messages being refined right now are left to finish). At most `limit` in one transaction; how many were
    /// dropped.
    func trimRefinements(keeping: Int?, queuedBefore: Timestamp?, now: Timestamp, limit: Int) throws(StoreError) -> Int
    /// How long the queue is and how old its oldest message.
    func refinementQueue() throws(StoreError) -> RefinementQueueState
    /// Adds one server's calls and tokens to `day`'s totals; the day's totals after it (the whole fleet's).
    func addLLMUsage(_ usage: LLMUsage, day: String) throws(StoreError) -> LLMUsage
    /// `day`'s totals (the whole fleet's), read only.
    func llmUsage(day: String) throws(StoreError) -> LLMUsage
}

/// A message waiting for the model, as a refiner gets it.
public struct RefinementJob: Sendable, Equatable {
    public var messageID: Int64
    public var customerID: Int64
    public var body: String
    public var createdAt: Timestamp
    /// The keyword score it was stored with (its place in the queue).
    public var priority: Double
    public var queuedAt: Timestamp
    /// Failed attempts so far (a rate limit does not count).
    public var attempts: Int
    /// The claim: its lease's end (finishing checks the claim is still this one).
    public var claim: Timestamp
    /// The rules version of the message's score when claimed: a refinement replaces only that score (a rescore in
    /// the meantime wins).
    public var rulesVersion: String

    public init(messageID: Int64, customerID: Int64, body: String, createdAt: Timestamp, priority: Double, queuedAt: Timestamp,
                attempts: Int, claim: Timestamp, rulesVersion: String = "") {
        self.rulesVersion = rulesVersion
        self.messageID = messageID
        self.customerID = customerID
        self.body = body
        self.createdAt = createdAt
        self.priority = priority
        self.queuedAt = queuedAt
        self.attempts = attempts
        self.claim = claim
    }
}

/// How one refinement ended.
public struct RefinementResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// The rules scored the message again with the model's answer: the new score replaces the keyword score
        /// (and a `message.updated` event with change `refine` is recorded), if the message still has the score of
        /// `replacing` (its rules version when claimed); else the message was rescored meanwhile and keeps that.
        case refined(ScoreUpdate, replacing: String)
        /// Try again at `at` (the model was busy, timed out, rate-limited); `countsAsAttempt` is false for a rate
        /// limit, which is the provider pacing us, not a failure.
        case retry(at: Timestamp, reason: String, countsAsAttempt: Bool)
        /// The message keeps its keyword score; the breakdown's `llm` says why (`state: skipped`).
        case skipped(reason: String)
    }

    public var messageID: Int64
    public var claim: Timestamp
    public var outcome: Outcome

    public init(messageID: Int64, claim: Timestamp, outcome: Outcome) {
        self.messageID = messageID
        self.claim = claim
        self.outcome = outcome
    }
}

/// The queue at a glance, for `GET /api/llm/status` and `/metrics`.
public struct RefinementQueueState: Sendable, Equatable {
    /// Messages waiting (those being refined right now included).
    public var depth: Int
    /// When the oldest waiting message was queued; nil when none waits.
    public var oldestQueuedAt: Timestamp?
    /// The lowest keyword score waiting (what a new message must beat to get into a full queue).
    public var lowestPriority: Double?

    public init(depth: Int, oldestQueuedAt: Timestamp?, lowestPriority: Double? = nil) {
        self.depth = depth
        self.oldestQueuedAt = oldestQueuedAt
        self.lowestPriority = lowestPriority
    }
}

/// Model calls and the tokens they were billed for (the responses' `usage`).
public struct LLMUsage: Sendable, Equatable {
    public var calls: Int
    public var inputTokens: Int
    public var outputTokens: Int

    public init(calls: Int = 0, inputTokens: Int = 0, outputTokens: Int = 0) {
        self.calls = calls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
    }

    public var totalTokens: Int { inputTokens + outputTokens }
    public var isEmpty: Bool { calls == 0 && inputTokens == 0 && outputTokens == 0 }

    public static func + (left: LLMUsage, right: LLMUsage) -> LLMUsage {
        LLMUsage(calls: left.calls + right.calls, inputTokens: left.inputTokens + right.inputTokens,
                 outputTokens: left.outputTokens + right.outputTokens)
    }
}

/// The JSON merge patch that marks a breakdown's `llm` part as skipped for `reason` (both stores apply it in SQL).
enum SkippedLLMPatch {
    /// The new fields of the `llm` part.
    static func llmPart(reason: String) -> String {
        JSONValue.object(["state": "skipped", "used": false, "skipped": .string(reason)]).jsonText
    }

    /// The patch of the whole breakdown.
    static func json(reason: String) -> String { "{\"llm\":\(llmPart(reason: reason))}" }
}
