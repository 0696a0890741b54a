/// What the `llm` module needs from an LLM transport: one blocking completion call that never throws and always
/// comes back by its deadline. The server's libcurl client implements it; tests may pass their own.
public protocol LLMClient: AnyObject, Sendable {
    func complete(_ request: LLMRequest) -> LLMResult
}

/// One completion as the rules ask for it (`llm.complete{…}`); nil fields take the client's defaults.
public struct LLMRequest: Sendable, Equatable, Hashable {
    public var system: String?
    public var prompt: String
    public var model: String?
    public var temperature: Double?
    public var maxTokens: Int?
    /// The deadline for the whole call, retries included.
    public var timeoutMilliseconds: Int?

    public init(system: String? = nil, prompt: String, model: String? = nil, temperature: Double? = nil,
                maxTokens: Int? = nil, timeoutMilliseconds: Int? = nil) {
        self.system = system
        self.prompt = prompt
        self.model = model
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

/// How a completion ended: the reply text, or why there is none, and what the call cost.
public struct LLMResult: Sendable, Equatable {
    /// The model's reply (the message content), or nil.
    public var reply: String?
    /// Why there is no reply: `no key`, `timeout`, `http 503`, `connection failed`, `circuit open`, `busy`,
    /// `empty reply`, `invalid response`, … Never contains the API key.
    public var reason: String?
    /// Wall time of the call, milliseconds (0 for a cache hit).
    public var latencyMilliseconds: Double
    /// Answered from the cache, without a request.
    public var cached: Bool
    /// HTTP requests made (retries included).
    public var attempts: Int
    /// Status of the last HTTP answer, if any.
    public var httpStatus: Int?
    /// `finish_reason` of the reply (`stop`, `length`, …), if any.
    public var finishReason: String?

    public init(reply: String? = nil, reason: String? = nil, latencyMilliseconds: Double = 0, cached: Bool = false,
                attempts: Int = 0, httpStatus: Int? = nil, finishReason: String? = nil) {
        self.reply = reply
        self.reason = reason
        self.latencyMilliseconds = latencyMilliseconds
        self.cached = cached
        self.attempts = attempts
        self.httpStatus = httpStatus
        self.finishReason = finishReason
    }

    /// A call that did not happen, for `reason`.
    public static func skipped(_ reason: String) -> LLMResult { LLMResult(reason: reason) }
}
