import Foundation
import RulesEngine
import Support

/// Where the LLM lives and how carefully it is called: the OpenAI-compatible endpoint, the key, the model, and
/// the deadline, retry, concurrency, cache and circuit-breaker settings.
public struct LLMConfiguration: Sendable {
    /// `LLM_BASE_URL`: the API root; requests go to `{baseURL}/chat/completions`.
    public var baseURL = "https://api.openai.com/v1"
    /// `LLM_API_KEY`, else `OPENAI_API_KEY` (the seed's variable). Without one the LLM step is skipped.
    public var apiKey: String?
    /// `LLM_MODEL`: when set, it replaces the model the rules ask for (the operator knows what the endpoint
    /// serves); when not, the rules' model is used, and `defaultModel` when they name none.
    public var modelOverride: String?
    public static let defaultModel = "gpt-4o-mini"
    /// `LLM_TIMEOUT_MS`: the deadline of one call, retries and waits included, unless the rules pass `timeout_ms`.
    public var timeoutMilliseconds = 3000
    /// The longest deadline the rules may ask for.
    public static let maximumTimeoutMilliseconds = 60_000
    /// `LLM_CONNECT_TIMEOUT_MS`: the longest a TCP/TLS connect may take within the deadline.
    public var connectTimeoutMilliseconds = 1000
    /// `LLM_MAX_RETRIES`: further attempts after a retryable failure (429, 500, 502, 503, 504, connection errors).
    public var maximumRetries = 2
    /// `LLM_MAX_CONCURRENCY`: calls in flight at once; a call waits for a slot within its deadline.
    public var maximumConcurrency = 8
    /// `LLM_CACHE_SIZE`: replies remembered (by model, prompts and parameters); 0 turns the cache off.
    public var cacheSize = 10_000
    /// `LLM_CACHE_TTL`: seconds a cached reply stays valid.
    public var cacheTTL: TimeInterval = 3600
    /// `LLM_BREAKER_FAILURES`: consecutive failed calls that open the circuit.
    public var breakerFailures = 5
    /// `LLM_BREAKER_COOLDOWN_MS`: how long an open circuit skips calls before one probe is let through.
    public var breakerCooldownMilliseconds = 30_000

    /// `LLM_MODE`: whether a new message waits for the model (`inline`, the seed's way) or is stored with its keyword
    /// score at once and refined by a background refiner (`background`, the default).
    public var mode: LLMMode = .background
    /// `LLM_MAX_BACKLOG`: the most messages waiting for a refiner; beyond, the least urgent and oldest keep their
    /// keyword score (reason `backlog`). nil: no count limit.
    public var maximumBacklog: Int? = 10_000
    /// `LLM_MAX_BACKLOG` (a duration): the longest a message waits for a refiner before it keeps its keyword score.
    public var maximumBacklogAge: TimeInterval? = 900
    /// `LLM_REFINE_ATTEMPTS`: failed model calls (timeouts, 5xx, connection errors) a queued message gets before it
    /// keeps its keyword score with the last failure as the reason. Rate limits (429) do not count.
    public var refinementAttempts = 5
    /// `LLM_RPM`: requests per minute the provider allows this deployment (nil: no limit).
    public var requestsPerMinute: Int?
    /// `LLM_TPM`: tokens per minute (prompt and completion) the provider allows (nil: no limit).
    public var tokensPerMinute: Int?
    /// `LLM_DAILY_TOKEN_BUDGET`: tokens per UTC day; when spent, the LLM step is skipped (reason `budget`) until the
    /// next day. nil: no budget.
    public var dailyTokenBudget: Int?

    public init() {}

    /// Whether a key is configured (the LLM step is skipped without one, as in the seed).
    public var hasKey: Bool { apiKey.map { !$0.isEmpty } ?? false }

    /// The chat-completions URL.
    public var completionsURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/chat/completions"
    }

    /// The variables `load` reads, for `serve --help`.
    public static let variables: [(name: String, meaning: String)] = [
        ("LLM_BASE_URL", "OpenAI-compatible API root (default https://api.openai.com/v1)"),
        ("LLM_API_KEY", "API key (falls back to OPENAI_API_KEY); without one the LLM step is skipped"),
        ("LLM_MODEL", "model for every call, replacing the rules' choice (default: the rules' model, else gpt-4o-mini)"),
        ("LLM_TIMEOUT_MS", "deadline of one LLM call, retries included (default 3000)"),
        ("LLM_CONNECT_TIMEOUT_MS", "longest connect (TCP and TLS) within that deadline (default 1000)"),
        ("LLM_MAX_RETRIES", "retries after 429/5xx/connection errors within the deadline (default 2)"),
        ("LLM_MAX_CONCURRENCY", "LLM calls in flight at once (default 8)"),
        ("LLM_CACHE_SIZE", "replies cached by model and prompt (default 10000; 0: off)"),
        ("LLM_CACHE_TTL", "seconds a cached reply stays valid (default 3600)"),
        ("LLM_BREAKER_FAILURES", "consecutive failures that open the circuit (default 5)"),
        ("LLM_BREAKER_COOLDOWN_MS", "how long the open circuit skips calls (default 30000)"),
        ("LLM_MODE", "background (default: answer at once with the keyword score, refine later) or inline (wait for the model)"),
        ("LLM_MAX_BACKLOG", "most messages waiting for the model, a longest wait, or both: 10000, 15m, 10000,15m (default 10000,15m; off: none)"),
        ("LLM_REFINE_ATTEMPTS", "failed model calls a queued message gets before it keeps its keyword score (default 5)"),
        ("LLM_RPM", "requests per minute the provider allows (default: no limit)"),
        ("LLM_TPM", "tokens per minute the provider allows (default: no limit)"),
        ("LLM_DAILY_TOKEN_BUDGET", "tokens per UTC day; when spent the step is skipped (reason budget) until the next day"),
    ]

    /// Reads the `LLM_*` variables through `value` (flags, environment, .env), validating each.
    static func load(_ value: (String) -> String?) throws(ConfigurationError) -> LLMConfiguration {
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError(message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return number
        }
        var configuration = LLMConfiguration()
        if let url = value("LLM_BASE_URL") {
            guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8, !url.contains(where: \.isWhitespace) else {
                throw ConfigurationError(message: "LLM_BASE_URL must be an http:// or https:// URL, got '\(url)'")
            }
            configuration.baseURL = url
        }
        configuration.apiKey = value("LLM_API_KEY") ?? value("OPENAI_API_KEY")
        if let key = configuration.apiKey, key.contains(where: { $0.isNewline || $0 == "\0" }) {
            throw ConfigurationError(message: "LLM_API_KEY must be one line")  // never echo the key
        }
        configuration.modelOverride = value("LLM_MODEL")
        if let milliseconds = try integer("LLM_TIMEOUT_MS", 1...maximumTimeoutMilliseconds) { configuration.timeoutMilliseconds = milliseconds }
        if let milliseconds = try integer("LLM_CONNECT_TIMEOUT_MS", 1...maximumTimeoutMilliseconds) {
            configuration.connectTimeoutMilliseconds = milliseconds
        }
        if let retries = try integer("LLM_MAX_RETRIES", 0...10) { configuration.maximumRetries = retries }
        if let concurrency = try integer("LLM_MAX_CONCURRENCY", 1...1024) { configuration.maximumConcurrency = concurrency }
        if let size = try integer("LLM_CACHE_SIZE", 0...10_000_000) { configuration.cacheSize = size }
        if let seconds = try integer("LLM_CACHE_TTL", 1...30 * 86_400) { configuration.cacheTTL = TimeInterval(seconds) }
        if let failures = try integer("LLM_BREAKER_FAILURES", 1...1000) { configuration.breakerFailures = failures }
        if let milliseconds = try integer("LLM_BREAKER_COOLDOWN_MS", 1...3_600_000) {
            configuration.breakerCooldownMilliseconds = milliseconds
        }
        if let mode = value("LLM_MODE") {
            guard let parsed = LLMMode(rawValue: mode) else {
                throw ConfigurationError(message: "LLM_MODE must be background or inline, got '\(mode)'")
            }
            configuration.mode = parsed
        }
        if let backlog = value("LLM_MAX_BACKLOG") {
            (configuration.maximumBacklog, configuration.maximumBacklogAge) = try backlogLimits(backlog)
        }
        if let attempts = try integer("LLM_REFINE_ATTEMPTS", 1...100) { configuration.refinementAttempts = attempts }
        configuration.requestsPerMinute = try integer("LLM_RPM", 1...100_000_000)
        configuration.tokensPerMinute = try integer("LLM_TPM", 1...1_000_000_000)
        configuration.dailyTokenBudget = try integer("LLM_DAILY_TOKEN_BUDGET", 1...Int(Int32.max) * 1000)
        return configuration
    }

    /// `LLM_MAX_BACKLOG`: a count (`10000`), a duration (`15m`), both (`10000,15m`), or `off`.
    static func backlogLimits(_ text: String) throws(ConfigurationError) -> (count: Int?, age: TimeInterval?) {
        if text == "off" { return (nil, nil) }
        var count: Int?, age: TimeInterval?
        for part in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let number = Int(part), number >= 1, count == nil {
                count = number
            } else if Int(part) == nil, age == nil, let seconds = ResponseTargets.duration(.string(part)) {
                age = seconds
            } else {
                throw ConfigurationError(message: "LLM_MAX_BACKLOG must be a count, a duration (90s, 15m, 1h) or both (10000,15m), or off; got '\(text)'")
            }
        }
        return (count, age)
    }
}

/// Where the LLM step runs for a new message.
public enum LLMMode: String, Sendable {
    /// The POST waits for the model and answers with the blended score (the seed's behaviour).
    case inline
    /// The POST answers at once with the keyword score; a refiner asks the model later and updates the message.
    case background
}
