import RulesEngine

/// Limits on what clients may send, beyond the HTTP body limit.
public struct InputLimits: Sendable, Equatable {
    public var messageLength = 20_000
    public var replyLength = 20_000
    public var agentNameLength = 200

    public init() {}
}

/// What the API handlers work with: the store, the active rules, the LLM toggle, the limits and the importer.
public final class APIContext: Sendable {
    public let store: any Store
    public let rules: ActiveRules
    public let llm: LLMToggle
    public let limits: InputLimits
    public let importer: SeedImporter
    /// The CSV `POST /admin/seed` imports.
    public let seedFile: String

    public init(store: any Store, rules: ActiveRules, llm: LLMToggle, limits: InputLimits, seedFile: String) {
        self.store = store
        self.rules = rules
        self.llm = llm
        self.limits = limits
        self.seedFile = seedFile
        importer = SeedImporter(store: store, rules: rules)
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
