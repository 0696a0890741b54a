import Foundation
import RulesEngine
import Support

/// Limits on what clients may send, beyond the HTTP body limit.
public struct InputLimits: Sendable, Equatable {
    public var messageLength = 20_000
    public var replyLength = 20_000
    public var agentNameLength = 200

    public init() {}
}

/// What the API handlers work with: the store, the active rules, the LLM toggle, the limits, the importer, and
/// the worker threads for work that may block.
public final class APIContext: Sendable {
    public let store: any Store
    public let rules: ActiveRules
    public let llm: LLMToggle
    /// The transport `llm.complete` calls when the LLM step is enabled.
    public let llmClient: OpenAICompatibleClient
    public let limits: InputLimits
    public let importer: SeedImporter
    /// The CSV `POST /admin/seed` imports.
    public let seedFile: String
    /// Threads for handlers that may block (reads, imports).
    let workers: WorkerPool
    /// Threads for scoring that may wait on the LLM, apart from `workers`, so a hanging model never holds up
    /// reads. (The LLM client caps the calls in flight; the other threads wait for a slot within the deadline.)
    let llmWorkers: WorkerPool
    /// Reloads the rules directory (`POST /api/rules/reload`).
    public let reloader: RulesReloader
    /// This server in the fleet of servers sharing the store.
    public let instance: InstanceRegistry
    /// The fixtures `POST /api/rules/check` runs candidates against: the gate, else data/golden.
    public let checkFixtures: [String]
    /// How the rules directory is watched, for `GET /api/rules`.
    public let watching: JSONValue
    /// Seconds a candidate check may take in all.
    public let checkTimeout: Double
    /// Candidate checks run one at a time: each may hold a Lua state at its memory cap.
    let checkSlot = DispatchSemaphore(value: 1)

    public init(store: any Store, rules: ActiveRules, reloader: RulesReloader, instance: InstanceRegistry, checkFixtures: [String], watching: JSONValue,
                llm: LLMToggle, llmClient: OpenAICompatibleClient, limits: InputLimits, seedFile: String,
                workerThreads: Int = 32, workerQueue: Int = 4096, llmWorkerThreads: Int = 64, checkTimeout: Double = 10) {
        self.checkTimeout = checkTimeout
        self.store = store
        self.rules = rules
        self.reloader = reloader
        self.instance = instance
        self.checkFixtures = checkFixtures
        self.watching = watching
        self.llm = llm
        self.llmClient = llmClient
        self.limits = limits
        self.seedFile = seedFile
        importer = SeedImporter(store: store, rules: rules)
        workers = WorkerPool(threads: workerThreads, queueLimit: workerQueue, name: "http-worker")
        llmWorkers = WorkerPool(threads: llmWorkerThreads, queueLimit: workerQueue, name: "llm-worker")
    }

    /// Lets queued work finish, then stops the worker threads.
    public func stop() {
        workers.stop()
        llmWorkers.stop()
    }

    /// How to score right now: the LLM step per the toggle, through the live client. `mayBlock` says whether a
    /// model may be called (enabled and a key configured), so the scoring belongs on `llmWorkers`.
    func scoringOptions(explain: Bool = true) -> (options: ScoringOptions, mayBlock: Bool) {
        let enabled = llm.isEnabled
        return (ScoringOptions(explain: explain, llmEnabled: enabled, llm: .live(llmClient)),
                enabled && llmClient.configuration.hasKey)
    }

    /// Runs `job` now when it cannot block, else on an LLM worker (503 when their queue is full).
    func scoring(mayBlock: Bool, _ respond: @escaping HTTPRespond, _ job: @escaping @Sendable () -> Void) {
        guard mayBlock else { return job() }
        if !llmWorkers.submit(job) {
            respond(.error(503, "the server is busy: try again shortly", headers: [("Retry-After", "1")]))
        }
    }

    /// Threads an import or a rescore scores on: one, or the LLM's concurrency cap when a model may be called.
    func batchConcurrency(mayBlock: Bool) -> Int { mayBlock ? llmClient.configuration.maximumConcurrency : 1 }

    /// Runs `job` on a worker; answers 503 when the queue is full.
    func onWorker(_ respond: @escaping HTTPRespond, _ job: @escaping @Sendable () -> Void) {
        if !workers.submit(job) {
            respond(.error(503, "the server is busy: try again shortly", headers: [("Retry-After", "1")]))
        }
    }

    /// Queues a store write and answers with `success(outcome)` once it is committed: 404 when the message does
    /// not exist, 503 when the store fails.
    func write(_ write: StoreWrite, respond: @escaping HTTPRespond,
               success: @escaping @Sendable (StoreWriteOutcome) -> HTTPResponse) {
        store.enqueue(write) { result in
            switch result {
            case .success(.applied(found: false)):
                respond(.error(404, "Message not found"))
            case .success(let outcome):
                respond(success(outcome))
            case .failure(let error):
                respond(.error(503, "storage unavailable: \(error.message)", headers: [("Retry-After", "1")]))
            }
        }
    }

    /// Runs a store operation, turning a storage failure into 503.
    func stored<T>(_ operation: () throws(StoreError) -> T) throws(HTTPError) -> T {
        do {
            return try operation()
        } catch {
            throw HTTPError(503, "storage unavailable: \(error.message)", headers: [("Retry-After", "1")])
        }
    }
}
