import Foundation
import RulesEngine
import Support

/// Why the server did not start.
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The running service: the store, the active rules, the API and the HTTP daemon, wired from a configuration.
public final class UrgencyIQServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let store: any Store
    public let rules: ActiveRules
    public let reloader: RulesReloader
    /// How the API scores, with the LLM toggle.
    public let scoring: ScoringService
    /// Every endpoint the API serves.
    public let routes: [Route]
    /// Threads for handlers that may block.
    private let workers: WorkerPool
    private let daemon: HTTPDaemon
    private let watcher: RulesWatcher?
    /// This server's entry in the store's fleet table.
    public let registry: InstanceRegistry
    /// Reports tickets whose first response is late.
    private let overdue: OverdueWatcher
    /// Refines queued messages with the model (the LLM step in the background).
    private let refiner: LLMRefiner
    /// Sends webhook deliveries (nil when no WEBHOOK_URL is configured).
    private let webhookSender: WebhookSender?
    /// Follows the rule sets deployed on other servers of a PostgreSQL fleet (nil on SQLite).
    private let fleetSync: RulesFleetSync?
    /// The live event feed's subscribers (`GET /api/events`).
    public let events: EventHub
    /// Who may call what: API keys, `ADMIN_TOKEN`, protected mode.
    public let gate: AccessGate
    /// Hands freed memory back to the system now and then.
    private var memoryTrimmer: ProcessMemory.PeriodicRelease?

    /// Opens the store, loads the rules and starts listening.
    public init(configuration: ServerConfiguration, ruleLog: any RuleLogSink = StandardErrorLogSink()) throws(ServerStartError) {
        ProcessMemory.configure()
        var configuration = configuration
        if configuration.engineLimits.sharedMemory == nil {
            configuration.engineLimits.sharedMemory = LuaMemoryBudget(limit: configuration.luaMemoryLimit)
        }
        self.configuration = configuration
        do {
            store = try UrgencyIQServer.openStore(configuration)
        } catch {
            throw ServerStartError(message: "cannot open the database: \(error)")
        }
        do {
            rules = ActiveRules(try UrgencyIQServer.loadRules(configuration, log: ruleLog))
        } catch {
            store.close()
            throw error
        }
        let boundToLoopback = SocketAddress(host: configuration.http.host, port: 0)?.isLoopback ?? false
        let gate = AccessGate(store: store, mode: configuration.auth, adminToken: configuration.adminToken, boundToLoopback: boundToLoopback,
                              clock: configuration.clock)
        if let refusal = ProtectedMode.refusal(host: configuration.http.host, port: configuration.http.port, mode: configuration.auth,
                                               boundToLoopback: boundToLoopback, adminToken: configuration.adminToken,
                                               hasActiveKeys: (try? store.hasActiveAPIKeys(at: configuration.clock())) ?? false) {
            store.close()
            throw ServerStartError(message: refusal)
        }
        self.gate = gate
        let toggle: LLMToggle
        do {
            toggle = try LLMToggle(store: store, initial: configuration.useLLMByDefault)
        } catch {
            store.close()
            throw ServerStartError(message: "cannot read the LLM setting: \(error)")
        }
        let registry = InstanceRegistry(store: store, rules: rules)
        self.registry = registry
        let events = EventHub(store: store, keepAliveInterval: configuration.eventKeepAlive,
                              keyIsActive: { [gate] hash in gate.isKeyActive(hash: hash) })
        self.events = events
        let store = store
        reloader = RulesReloader(directory: configuration.rulesDirectory, rules: rules, limits: configuration.engineLimits,
                                 log: ruleLog, gate: configuration.rulesGate, gateTimeout: configuration.checkTimeout,
                                 onActivate: { [rules] in
                                     registry.refresh()
                                     let detail: JSONValue = ["version": .string(rules.scorer.rulesVersion), "instance": .string(registry.id)]
                                     try? store.recordEvent(type: "rules.activated", detail: detail.jsonText)
                                 })
        scoring = ScoringService(rules: rules, llm: toggle, llmClient: OpenAICompatibleClient(configuration: configuration.llm),
                                 threads: configuration.http.llmWorkerThreads, queueLimit: configuration.http.workerQueue)
        let refiner = LLMRefiner(store: store, scoring: scoring)
        self.refiner = refiner
        let metricsSlot = ObservabilityRoutes.MetricsSlot()
        let audit = AuditTrail(store: store)
        routes = MessageRoutes(store: store, scoring: scoring, limits: configuration.limits, refiner: refiner).routes
            + CustomerRoutes(store: store).routes
            + AdminRoutes(importer: SeedImporter(store: store, rules: rules), rescorer: Rescorer(store: store, rules: rules),
                          scoring: scoring, refiner: refiner, seedFile: configuration.seedFile, audit: audit).routes
            + RulesRoutes(rules: rules, reloader: reloader, scoring: scoring, instance: registry,
                          watching: RulesWatching(inotify: configuration.watchRules, pollSeconds: configuration.watchPoll),
                          limits: configuration.limits,
                          checkFixtures: configuration.rulesGate.map { [$0] } ?? configuration.checkFixtures,
                          checkTimeout: configuration.checkTimeout, deployments: store, audit: audit).routes
            + SystemRoutes.routes()
            + EventRoutes(hub: events).routes
            + WebhookRoutes(store: store, audit: audit).routes
            + AccessRoutes(store: store, gate: gate, audit: audit).routes
            + ObservabilityRoutes(metrics: metricsSlot, store: store, rules: rules, metricsToken: configuration.metricsToken,
                                  readinessDeadline: 2).routes
            + ConsoleRoutes(assets: ConsoleAssets(directory: configuration.consoleDirectory)).routes
        workers = WorkerPool(threads: configuration.http.workerThreads, queueLimit: configuration.http.workerQueue, name: "http-worker")
        let handler = APIHandler(routes: routes, workers: workers, cors: configuration.cors,
                                 gate: gate, logger: RequestLogger(format: configuration.logFormat))
        metricsSlot.set(ServerMetrics(http: handler.metrics, scoring: scoring.metrics, rules: rules, llm: scoring.llmClient, refiner: refiner,
                                      store: store,
                                      clock: configuration.clock))
        OperationsLog.shared.configure(format: configuration.logFormat == .json ? .json : .text)
        do {
            daemon = try HTTPDaemon(options: configuration.http, handler: handler)
        } catch {
            workers.stop()
            scoring.stop()
            store.close()
            throw ServerStartError(message: error.message)
        }
        do {
            // The endpoints every event is queued for, in the store (all disabled when none is configured).
            try store.configureWebhookEndpoints(configuration.webhooks.endpoints)
        } catch {
            workers.stop()
            scoring.stop()
            store.close()
            throw ServerStartError(message: "cannot record the webhook endpoints: \(error)")
        }
        if configuration.webhooks.isEnabled, let secret = configuration.webhooks.secret,
           let signature = try? WebhookSignature(secret: secret) {
            webhookSender = WebhookSender(store: store, configuration: configuration.webhooks, signature: signature)
        } else {
            webhookSender = nil
        }
        overdue = OverdueWatcher(store: store, clock: configuration.clock, interval: configuration.overdueCheckInterval)
        if case .postgres = configuration.database {
            fleetSync = RulesFleetSync(store: store, reloader: reloader, rules: rules)
        } else {
            fleetSync = nil
        }
        if configuration.watchRules || configuration.watchPoll != nil {
            let reloader = reloader
            let watcher = RulesWatcher(directory: configuration.rulesDirectory, pollInterval: configuration.watchPoll) {
                reloader.reload(trigger: .fileChange)
            }
            watcher.start()
            self.watcher = watcher
        } else {
            watcher = nil
        }
        registry.start()
        gate.start()
        events.start()
        fleetSync?.start()
        webhookSender?.start()
        overdue.start()
        refiner.start()
        memoryTrimmer = ProcessMemory.startPeriodicRelease()
    }

    /// The rules the server starts with: they load, and with a gate they pass it, like any reloaded version.
    static func loadRules(_ configuration: ServerConfiguration, log: any RuleLogSink) throws(ServerStartError) -> Scorer {
        let directory = configuration.rulesDirectory
        let scorer: Scorer
        do {
            scorer = try Scorer(rulesDirectory: directory, limits: configuration.engineLimits, log: log)
        } catch {
            throw ServerStartError(message: "cannot load the rules in \(directory): \(error)")
        }
        if let gate = configuration.rulesGate {
            let result = RulesReloader.runGate(gate, scorer: scorer, deadline: Deadline(seconds: configuration.checkTimeout))
            if let refusal = result.refusal {
                throw ServerStartError(message: "the rules in \(directory) (version \(scorer.rulesVersion)) do not pass the gate: "
                    + refusal + result.failures.map { "\n  " + $0 }.joined())
            }
        }
        return scorer
    }

    /// Reloads the rules (SIGHUP); the attempt says what happened.
    @discardableResult
    public func reloadRules(trigger: ReloadTrigger) -> ReloadAttempt { reloader.reload(trigger: trigger) }

    /// Opens the configured store.
    public static func openStore(_ configuration: ServerConfiguration) throws -> any Store {
        switch configuration.database {
        case .sqlite(let path):
            return try SQLiteStore(path: path, synchronous: configuration.sqliteSynchronous)
        case .postgres(let url):
            return try PostgresStore(url: url)
        }
    }

    /// The port the server listens on.
    public var port: UInt16 { daemon.port }

    /// Client connections open right now.
    public var openConnections: Int { daemon.openConnections }

    /// Stops accepting, lets requests in flight finish (up to `timeout` seconds), closes the store.
    public func shutdown(timeout: Double = 30) {
        memoryTrimmer?.stop()
        watcher?.stop()
        fleetSync?.stop()
        events.stop()  // ends the event streams, which would otherwise keep their requests in flight
        daemon.shutdown(timeout: timeout)
        registry.stop()
        gate.stop()
        overdue.stop()
        refiner.stop()
        webhookSender?.stop()
        workers.stop()
        scoring.stop()
        store.close()
    }
}
