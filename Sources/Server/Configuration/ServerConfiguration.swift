import Foundation
import RulesEngine
import Support

/// Everything `urgencyiq serve` is configured with. Sources, strongest first: command-line flags, environment
/// variables, the `.env` file, defaults.
public struct ServerConfiguration: Sendable {
    /// Where tickets are stored.
    public enum Database: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public var http = HTTPOptions()
    public var database = Database.sqlite(path: "instance/urgencyiq.db")
    public var sqliteSynchronous = SQLiteStore.Synchronous.normal
    public var rulesDirectory = "rules"
    /// Fixtures every reloaded rule set must pass before it goes live (`--gate DIR`, RULES_GATE), or nil.
    public var rulesGate: String?
    /// Reload when the rules directory changes (inotify).
    public var watchRules = true
    /// Also compare the rules files every this many seconds (`--watch-poll`), for mounts without events.
    public var watchPoll: Double?
    /// The fixtures `POST /api/rules/check` runs candidates against when no gate is set.
    public var checkFixtures = ["data/golden", "data/labelled"]
    public var engineLimits = EngineLimits()
    /// Bytes all the Lua states of the server may hold together (`LUA_MEMORY_LIMIT`, in MiB).
    public var luaMemoryLimit = 256 << 20
    /// Seconds a candidate check (`POST /api/rules/check`) or a reload's gate may take (`CHECK_TIMEOUT`).
    public var checkTimeout = 10.0
    /// The LLM endpoint and how it is called (`LLM_*`).
    public var llm = LLMConfiguration()
    /// The LLM toggle's value before anyone sets it (USE_LLM); afterwards the stored value wins.
    public var useLLMByDefault = false
    public var adminToken: String?
    /// Whether the API asks for keys (`AUTH`; `--no-auth` is `off`).
    public var auth = AuthMode.auto
    public var cors = CORSPolicy()
    public var limits = InputLimits()
    public var logFormat = RequestLogger.Format.text
    public var seedFile = "data/sample_messages.csv"
    /// Where the web console's files are read from (`CONSOLE_DIR`, read again on every request, for working on
    /// the console); nil: the copy installed with the binary.
    public var consoleDirectory: String?
    /// Seconds between the keep-alive comments on `GET /api/events` (`EVENTS_KEEPALIVE`): they keep proxies
    /// from closing idle streams and let the server notice clients that left.
    public var eventKeepAlive = 15.0
    /// The time overdue tickets are judged by (tests move it).
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }
    /// Seconds between overdue checks.
    public var overdueCheckInterval = 1.0
    /// Where webhooks go and how they are sent (`WEBHOOK_*`).
    public var webhooks = WebhookConfiguration()
    /// Bearer token `GET /metrics` requires (`METRICS_TOKEN`); nil: open, like /api/health.
    public var metricsToken: String?

    public init() {}

    /// The environment variables read, with what they set (for `serve --help` and the README).
    public static let variables: [(name: String, meaning: String)] = [
        ("HOST", "interface to listen on (default 127.0.0.1)"),
        ("PORT", "port (default 5000)"),
        ("DATABASE_URL", "sqlite:///path/to.db or postgresql://… (the seed's variable)"),
        ("URGENCYIQ_DB", "SQLite database file (default instance/urgencyiq.db)"),
        ("SQLITE_SYNCHRONOUS", "normal (a commit survives a crash of the server; default) or full (also a power cut)"),
        ("URGENCYIQ_RULES", "rules directory (default rules)"),
        ("RULES_GATE", "fixtures a changed rule set must pass before it goes live (default: none)"),
        ("RULES_WATCH_POLL", "also look for rule changes every this many seconds (mounts without file events)"),
        ("CHECK_TIMEOUT", "seconds a candidate rules check or a reload's gate may take in all (default 10)"),
        ("LUA_MEMORY_LIMIT", "MiB all the rules' Lua states may hold together (default 256; each state at most 64)"),
        ("USE_LLM", "the LLM toggle's initial value (true/false, default false)"),
        ("CONSOLE_DIR", "serve the web console's files from this directory, read again on every request (default: the installed copy)"),
        ("METRICS_TOKEN", "bearer token GET /metrics requires (default: none, metrics are open)"),
        ("EVENTS_KEEPALIVE", "seconds between keep-alive comments on the event stream (default 15)"),
        ("ADMIN_TOKEN", "bearer token that acts as an admin key; without it and without keys, admin endpoints answer loopback clients only"),
        ("AUTH", "auto (default: keys needed on a network address and once any key exists), required (keys everywhere) or off (--no-auth)"),
        ("CORS_ORIGINS", "allowed browser origins: * (default) or a comma-separated list"),
        ("MAX_BODY_BYTES", "largest request body (default 1048576)"),
        ("MAX_DISCARD_BYTES", "an oversized body is read and dropped up to this size, so the client reads its 413 (default 67108864)"),
        ("CONNECTION_TIMEOUT", "seconds a kept-alive or silent connection stays open (default 30)"),
        ("HEADER_TIMEOUT", "seconds within which a request's line and headers must arrive (default 10)"),
        ("CONNECTION_LIMIT", "simultaneous connections (default 1024)"),
        ("PER_IP_CONNECTION_LIMIT", "simultaneous connections from one client address; 0: no limit (default 64)"),
        ("REUSE_PORT", "true: let several servers listen on the same port (SO_REUSEPORT); default false"),
        ("MAX_MESSAGE_LENGTH", "characters in a message (default 20000)"),
        ("MAX_REPLY_LENGTH", "characters in a reply (default 20000)"),
        ("MAX_AGENT_NAME_LENGTH", "characters in an agent name (default 200)"),
        ("HTTP_THREADS", "network I/O threads (default: one per core)"),
        ("WORKER_THREADS", "threads running handlers (default 32)"),
        ("LLM_WORKER_THREADS", "threads scoring while a model may be called (default 64)"),
        ("LOG_FORMAT", "text (default), json or off"),
        ("SEED_FILE", "the CSV POST /admin/seed imports (default data/sample_messages.csv)"),
    ] + LLMConfiguration.variables + WebhookConfiguration.variables

    /// Builds the configuration from `flags` (`--port` → "port" …), `environment` and the `.env` file.
    public static func load(flags: [String: String], environment: [String: String],
                            envFile: String? = ".env") throws(ConfigurationError) -> ServerConfiguration {
        var variables = try envFile.map { path throws(ConfigurationError) in try DotEnv.load(path) } ?? [:]
        variables.merge(environment) { _, process in process }
        func value(_ flag: String?, _ variable: String) -> String? {
            if let flag, let given = flags[flag] { return given }
            return variables[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        func integer(_ flag: String?, _ variable: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let text = value(flag, variable) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError(message: "\(flag.map { "--\($0)" } ?? variable) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return number
        }
        func boolean(_ flag: String?, _ variable: String) throws(ConfigurationError) -> Bool? {
            guard let text = value(flag, variable) else { return nil }
            switch text.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off": return false
            default: throw ConfigurationError(message: "\(flag.map { "--\($0)" } ?? variable) must be true or false, got '\(text)'")
            }
        }

        var configuration = ServerConfiguration()
        if let host = value("host", "HOST") { configuration.http.host = host }
        if let port = try integer("port", "PORT", 0...65535) { configuration.http.port = UInt16(port) }
        if let url = value(nil, "DATABASE_URL") { configuration.database = try database(url: url) }
        if let path = value("db", "URGENCYIQ_DB") { configuration.database = .sqlite(path: path) }
        if let mode = value(nil, "SQLITE_SYNCHRONOUS") {
            guard let synchronous = SQLiteStore.Synchronous(rawValue: mode.lowercased()) else {
                throw ConfigurationError(message: "SQLITE_SYNCHRONOUS must be normal or full, got '\(mode)'")
            }
            configuration.sqliteSynchronous = synchronous
        }
        if let rules = value("rules", "URGENCYIQ_RULES") { configuration.rulesDirectory = rules }
        if let gate = value("gate", "RULES_GATE") { configuration.rulesGate = gate }
        if let poll = value("watch-poll", "RULES_WATCH_POLL") {
            guard let seconds = Double(poll), seconds > 0, seconds <= 3600 else {
                throw ConfigurationError(message: "--watch-poll must be a number of seconds from 0 to 3600, got '\(poll)'")
            }
            configuration.watchPoll = seconds
        }
        if let llm = try boolean(nil, "USE_LLM") { configuration.useLLMByDefault = llm }
        if let seconds = try integer(nil, "CHECK_TIMEOUT", 1...3600) { configuration.checkTimeout = Double(seconds) }
        if let mebibytes = try integer(nil, "LUA_MEMORY_LIMIT", 64...(1 << 20)) { configuration.luaMemoryLimit = mebibytes << 20 }
        configuration.adminToken = value(nil, "ADMIN_TOKEN")
        if let auth = value(nil, "AUTH") {
            guard let mode = AuthMode(rawValue: auth.lowercased()) else {
                throw ConfigurationError(message: "AUTH must be auto, required or off, got '\(auth)'")
            }
            configuration.auth = mode
        }
        configuration.consoleDirectory = value(nil, "CONSOLE_DIR")
        configuration.metricsToken = value(nil, "METRICS_TOKEN").flatMap { $0.isEmpty ? nil : $0 }
        if let seconds = try integer(nil, "EVENTS_KEEPALIVE", 1...3600) { configuration.eventKeepAlive = Double(seconds) }
        if let origins = value(nil, "CORS_ORIGINS") { configuration.cors = CORSPolicy(parsing: origins) }
        if let bytes = try integer(nil, "MAX_BODY_BYTES", 1024...(1 << 30)) { configuration.http.maximumBodyBytes = bytes }
        if let bytes = try integer(nil, "MAX_DISCARD_BYTES", 0...(1 << 40)) { configuration.http.discardBodyBytes = bytes }
        if let seconds = try integer(nil, "CONNECTION_TIMEOUT", 1...3600) { configuration.http.connectionTimeout = seconds }
        if let seconds = try integer(nil, "HEADER_TIMEOUT", 1...3600) { configuration.http.headerTimeout = seconds }
        if let count = try integer(nil, "CONNECTION_LIMIT", 1...100_000) { configuration.http.connectionLimit = count }
        if let count = try integer(nil, "PER_IP_CONNECTION_LIMIT", 0...100_000) { configuration.http.perClientConnectionLimit = count }
        if let reuse = try boolean("reuse-port", "REUSE_PORT") { configuration.http.reusePort = reuse }
        if let length = try integer(nil, "MAX_MESSAGE_LENGTH", 1...10_000_000) { configuration.limits.messageLength = length }
        if let length = try integer(nil, "MAX_REPLY_LENGTH", 1...10_000_000) { configuration.limits.replyLength = length }
        if let length = try integer(nil, "MAX_AGENT_NAME_LENGTH", 1...100_000) { configuration.limits.agentNameLength = length }
        if let threads = try integer(nil, "HTTP_THREADS", 1...256) { configuration.http.ioThreads = threads }
        if let threads = try integer(nil, "WORKER_THREADS", 1...1024) { configuration.http.workerThreads = threads }
        if let format = value("log-format", "LOG_FORMAT") {
            guard let parsed = RequestLogger.Format(rawValue: format) else {
                throw ConfigurationError(message: "--log-format must be text, json or off, got '\(format)'")
            }
            configuration.logFormat = parsed
        }
        if let seed = value(nil, "SEED_FILE") { configuration.seedFile = seed }
        if let threads = try integer(nil, "LLM_WORKER_THREADS", 1...1024) { configuration.http.llmWorkerThreads = threads }
        configuration.llm = try LLMConfiguration.load { value(nil, $0) }
        // WEBHOOK_URL, WEBHOOK_EVENTS and WEBHOOK_MIN_URGENCY also as serve flags (the secret not: ps would show it).
        configuration.webhooks = try WebhookConfiguration.load { name in
            value(name == "WEBHOOK_SECRET" ? nil : name.lowercased().replacingOccurrences(of: "_", with: "-"), name)
        }
        return configuration
    }

    /// `sqlite:///relative.db`, `sqlite:////absolute.db`, `postgresql://…` or the legacy `postgres://…`.
    static func database(url: String) throws(ConfigurationError) -> Database {
        if url.hasPrefix("sqlite:///") { return .sqlite(path: String(url.dropFirst("sqlite:///".count))) }
        if url.hasPrefix("postgres://") { return .postgres(url: "postgresql://" + url.dropFirst("postgres://".count)) }
        if url.hasPrefix("postgresql://") { return .postgres(url: url) }
        throw ConfigurationError(message: "DATABASE_URL must start with sqlite:///, postgresql:// or postgres://")
    }
}
