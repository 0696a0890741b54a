import Dispatch
import RulesEngine

/// How the API scores a message: with the active rules, the LLM step as the toggle says, through the live client,
/// and on threads of its own when a model may be called, so a hanging model never holds up reads.
public final class ScoringService: Sendable {
    public let rules: ActiveRules
    public let llm: LLMToggle
    /// The transport `llm.complete` calls when the LLM step is enabled.
    public let llmClient: OpenAICompatibleClient
    /// Messages scored, levels, durations, rule failures (for /metrics).
    let metrics = ScoringMetrics()
    /// Threads for scoring that may wait on the LLM. (The client caps the calls in flight; the other threads wait
    /// for a slot within the deadline.)
    private let llmWorkers: WorkerPool

    init(rules: ActiveRules, llm: LLMToggle, llmClient: OpenAICompatibleClient, threads: Int, queueLimit: Int) {
        self.rules = rules
        self.llm = llm
        self.llmClient = llmClient
        llmWorkers = WorkerPool(threads: threads, queueLimit: queueLimit, name: "llm-worker")
    }

    /// How to score right now. `mayBlock` says whether a model may be called (enabled and a key configured), so
    /// the scoring belongs on the LLM workers.
    func options(explain: Bool = true) -> (options: ScoringOptions, mayBlock: Bool) {
        let enabled = llm.isEnabled
        return (ScoringOptions(explain: explain, llmEnabled: enabled, llm: .live(llmClient)),
                enabled && llmClient.configuration.hasKey)
    }

    /// How to score a new message: as `options()` inline; in background mode (with the step enabled and a key) the
    /// model is not called: `deferral` notes whether the rules asked for it, and then the message is queued.
    func newMessageOptions() -> (options: ScoringOptions, mayBlock: Bool, deferral: DeferredLLMCall?) {
        let (options, mayBlock) = options()
        guard mayBlock, llmClient.configuration.mode == .background else { return (options, mayBlock, nil) }
        let deferral = DeferredLLMCall(budgetSpent: llmClient.usage.isExhausted)
        return (ScoringOptions(explain: options.explain, llmEnabled: true, llm: .live(deferral)), false, deferral)
    }

    /// Scores one message with the active rules (the fallback score when the rules fail on it), counting it for
    /// the metrics; `stored` says whether the message is kept with this score. A dry run's failure is logged
    /// here; a stored message's by the caller once it has an id (`logFailure`).
    func score(_ input: ScoringInput, options: ScoringOptions, stored: Bool)
        -> (score: Score, error: ScoringError?, targets: ResponseTargets?) {
        let started = DispatchTime.now().uptimeNanoseconds
        let scorer = rules.scorer  // one version for the score and its response target
        var result = scorer.scoreOrFallback(input, options: options)
        if result.score.breakdown != nil { LLMBreakdownState.annotate(&result.score.breakdown!) }
        metrics.record(result.score.value, nanoseconds: DispatchTime.now().uptimeNanoseconds - started, failed: result.error != nil,
                       stored: stored)
        if let error = result.error, !stored { logFailure(error, version: result.score.rulesVersion, input: input, messageID: nil) }
        return (result.score, result.error, scorer.responseTargets)
    }

    /// Logs (rate-limited) that the rules failed on a message: the message id when stored, the rules version,
    /// where the rules failed and what they said.
    func logFailure(_ error: ScoringError, version: String, input: ScoringInput, messageID: Int64?) {
        var fields: [(String, String)] = []
        if let messageID { fields.append(("message_id", String(messageID))) }
        fields += [("rules_version", version), ("kind", error.kind.rawValue)]
        if let file = error.file { fields.append(("file", error.line.map { "\(file):\($0)" } ?? file)) }
        if let customer = input.customerID { fields.append(("customer_id", String(customer))) }
        OperationsLog.shared.report("rule_error", (messageID != nil ? "stored with the fallback score: " : "dry run failed: ") + error.message,
                                    fields)
    }

    /// Runs `job` now when it cannot block, else on an LLM worker; busy when their queue is full.
    func run(mayBlock: Bool, _ job: @escaping @Sendable () -> Void) throws(HTTPError) {
        guard mayBlock else { return job() }
        guard llmWorkers.submit(job) else { throw .busy("the server is busy: try again shortly") }
    }

    /// Threads an import or a rescore scores on: one, or the LLM's concurrency cap when a model may be called.
    func batchConcurrency(mayBlock: Bool) -> Int { mayBlock ? llmClient.configuration.maximumConcurrency : 1 }

    /// Lets queued scoring finish, then stops the threads.
    func stop() { llmWorkers.stop() }
}
