import RulesEngine

/// How the API scores a message: with the active rules, the LLM step as the toggle says, through the live client,
/// and on threads of its own when a model may be called, so a hanging model never holds up reads.
public final class ScoringService: Sendable {
    public let rules: ActiveRules
    public let llm: LLMToggle
    /// The transport `llm.complete` calls when the LLM step is enabled.
    public let llmClient: OpenAICompatibleClient
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
