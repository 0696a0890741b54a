import Foundation
import RulesEngine
import Synchronization
import Support

/// The LLM transport: `POST {base}/chat/completions` on any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM,
/// llama.cpp's server, Gemini's compatibility endpoint), through libcurl.
///
/// Every call has a deadline (retries and waits included) and always comes back by it with a reply or a reason;
/// it retries only where that can help (429 rate limits, 500/502/503/504, connection errors), honouring
/// `Retry-After` within the deadline; a circuit breaker stops calling a failing endpoint for a while; a cap
/// bounds the calls in flight; requests and tokens per minute stay within the provider's limits (a 429 pauses
/// every call for as long as it asks); identical prompts in flight share one call, and an LRU cache answers
/// repeated ones; the tokens billed count against a daily budget. The API key goes into the `Authorization`
/// header and nowhere else: no reason, log line or status answer contains it.
public final class OpenAICompatibleClient: LLMClient {
    public let configuration: LLMConfiguration
    private let handles: CurlHandlePool
    private let breaker: CircuitBreaker
    private let cache: CompletionCache
    private let statistics = LLMStatistics()
    private let slots: DispatchSemaphore
    private let inFlight = Atomic<Int>(0)
    /// Requests and tokens per minute, and the pause after a 429.
    let limiter: ProviderRateLimiter
    /// Tokens billed today and the daily budget.
    let usage: LLMUsageLedger
    /// Identical calls in flight at once share one.
    private let flights = SingleFlight<CompletionCache.Key, LLMResult>()

    public init(configuration: LLMConfiguration, clock: @escaping @Sendable () -> Date = { Date() }) {
        limiter = ProviderRateLimiter(requestsPerMinute: configuration.requestsPerMinute, tokensPerMinute: configuration.tokensPerMinute)
        usage = LLMUsageLedger(budget: configuration.dailyTokenBudget, clock: clock)
        self.configuration = configuration
        handles = CurlHandlePool(maximumIdle: configuration.maximumConcurrency)
        breaker = CircuitBreaker(threshold: configuration.breakerFailures,
                                 cooldown: Double(configuration.breakerCooldownMilliseconds) / 1000)
        cache = CompletionCache(capacity: configuration.cacheSize, ttl: configuration.cacheTTL)
        slots = DispatchSemaphore(value: configuration.maximumConcurrency)
    }

    /// The model a request is sent with: LLM_MODEL when set, else the rules' choice, else the default.
    public func model(for request: LLMRequest) -> String {
        configuration.modelOverride ?? request.model ?? LLMConfiguration.defaultModel
    }

    public func complete(_ request: LLMRequest) -> LLMResult {
        let started = Date()
        guard let key = configuration.apiKey, !key.isEmpty else {
            statistics.recordSkipped("no key")
            return .skipped("no key")
        }
        let milliseconds = min(request.timeoutMilliseconds ?? configuration.timeoutMilliseconds,
                               LLMConfiguration.maximumTimeoutMilliseconds)
        let deadline = started.addingTimeInterval(Double(max(1, milliseconds)) / 1000)
        let model = model(for: request)
        let cacheKey = CompletionCache.Key(model: model, request: LLMRequest(
            system: request.system, prompt: request.prompt, temperature: request.temperature, maxTokens: request.maxTokens))
        if let entry = cache.value(for: cacheKey) {
            statistics.recordCacheHit()
            return LLMResult(reply: entry.reply, cached: true, finishReason: entry.finishReason)
        }
        if usage.isExhausted {
            statistics.recordSkipped("budget")
            return .skipped("budget")
        }
        return flights.run(cacheKey, deadline: deadline, call: {
            call(request, model: model, key: key, cacheKey: cacheKey, started: started, deadline: deadline)
        }, timedOut: {
            LLMResult(reason: "timeout", latencyMilliseconds: Date().timeIntervalSince(started) * 1000)
        })
    }

    /// Until when the circuit breaker keeps calls from the endpoint (nil: it lets them through, or lets a probe).
    var circuitOpenUntil: Date? {
        let circuit = breaker.snapshot()
        guard circuit.state == .open, let opened = circuit.openedAt else { return nil }
        let until = opened.addingTimeInterval(Double(configuration.breakerCooldownMilliseconds) / 1000)
        return until > Date() ? until : nil
    }

    /// Calls shared by single flight (`sharedCalls`): callers that got another caller's result.
    public var sharedCalls: Int { flights.sharedCount }

    /// One call to the endpoint (the cache missed and no identical call is in flight): the circuit breaker, a
    /// concurrency slot, the rate limits, then the attempts.
    private func call(_ request: LLMRequest, model: String, key: String, cacheKey: CompletionCache.Key, started: Date,
                      deadline: Date) -> LLMResult {
        let permission = breaker.permission()
        if permission == .probe {
            OperationsLog.shared.report("llm_circuit", "half-open: one probe call to \(configuration.baseURL)", level: "info")
        }
        guard permission != .rejected else {
            statistics.recordSkipped("circuit open")
            return .skipped("circuit open")
        }
        guard slots.wait(timeout: .now() + deadline.timeIntervalSinceNow) == .success else {
            breaker.abandon(permission)
            statistics.recordSkipped("busy")
            return LLMResult(reason: "busy", latencyMilliseconds: Date().timeIntervalSince(started) * 1000)
        }
        inFlight.add(1, ordering: .relaxed)
        defer {
            inFlight.subtract(1, ordering: .relaxed)
            slots.signal()
        }
        let body = OpenAICompatibleClient.body(for: request, model: model)
        let estimate = ProviderRateLimiter.estimateTokens(request)
        var result = exchange(body: body, key: key, deadline: deadline, estimatedTokens: estimate)
        if result.reason == "rate limited" { breaker.abandon(permission) }
        result.latencyMilliseconds = Date().timeIntervalSince(started) * 1000
        // The endpoint answered properly (even with an empty reply): the circuit stays or becomes closed. A call
        // the rate limit kept from starting says nothing about the endpoint.
        let outcome: CircuitBreaker.Transition? = result.reason == "rate limited" ? nil
            : breaker.record(success: result.reply != nil || result.reason == "empty reply")
        switch outcome {
        case .opened(let failures)?:
            OperationsLog.shared.report("llm_circuit", "opened after \(failures) failed calls: no calls for \(configuration.breakerCooldownMilliseconds) ms",
                                        level: "warning", [("endpoint", configuration.baseURL)])
        case .reopened?:
            OperationsLog.shared.report("llm_circuit", "the probe failed: open again", level: "warning", [("endpoint", configuration.baseURL)])
        case .closed?:
            OperationsLog.shared.report("llm_circuit", "closed: the endpoint answers again", level: "info", [("endpoint", configuration.baseURL)])
        case nil:
            break
        }
        if let reason = result.reason, result.reply == nil {
            OperationsLog.shared.report("llm_failure", reason, level: "warning",
                                        [("model", model), ("attempts", String(result.attempts)),
                                         ("ms", String(Int(result.latencyMilliseconds)))])
        }
        statistics.recordCall(requests: result.attempts, failure: result.reason.map(OpenAICompatibleClient.kind),
                              milliseconds: result.latencyMilliseconds)
        if let reply = result.reply {
            cache.store(CompletionCache.Entry(reply: reply, finishReason: result.finishReason, storedAt: Date()), for: cacheKey)
        }
        return result
    }

    /// The request JSON: the model, the system and user messages, temperature and max_tokens (when given).
    static func body(for request: LLMRequest, model: String) -> [UInt8] {
        var messages: [JSONValue] = []
        if let system = request.system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(request.prompt)])
        var object: [String: JSONValue] = ["model": .string(model), "messages": .array(messages)]
        if let temperature = request.temperature { object["temperature"] = .number(temperature) }
        if let maxTokens = request.maxTokens { object["max_tokens"] = .integer(Int64(maxTokens)) }
        return Array(JSONValue.object(object).jsonText.utf8)
    }

    /// The attempts of one call, until a reply, a final failure, the retry limit or the deadline. Each attempt
    /// takes a request and the token estimate from the rate limits first ("rate limited" when they would not let it
    /// start by the deadline); a reply's `usage` settles the estimate and counts against the daily budget.
    private func exchange(body: [UInt8], key: String, deadline: Date, estimatedTokens: Int) -> LLMResult {
        let headers = ["Content-Type: application/json", "Accept: application/json", "Authorization: Bearer \(key)"]
        var attempts = 0
        while true {
            guard limiter.acquire(estimatedTokens: estimatedTokens, deadline: deadline) else {
                return LLMResult(reason: "rate limited", attempts: attempts)
            }
            let remaining = Int((deadline.timeIntervalSinceNow * 1000).rounded(.down))
            guard remaining >= 1 else {
                limiter.settle(estimated: estimatedTokens, actual: 0)
                return LLMResult(reason: "timeout", attempts: attempts)
            }
            attempts += 1
            let outcome = handles.withHandle { handle in
                handle.post(url: configuration.completionsURL, headers: headers, body: body, timeoutMilliseconds: remaining,
                            connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds)
            } ?? .failure(CurlFailure(kind: .other, message: "cannot create a libcurl handle"))
            let retry: (reason: String, status: Int?, retryAfter: String?, retryAfterMilliseconds: String?)
            switch outcome {
            case .failure(let failure):
                if failure.kind != .connection { limiter.settle(estimated: estimatedTokens, actual: 0) }  // not billed
                switch failure.kind {
                case .timeout: return LLMResult(reason: "timeout", attempts: attempts)
                case .connection: retry = ("connection failed", nil, nil, nil)
                case .tls: return LLMResult(reason: "tls verification failed", attempts: attempts)
                case .tooLarge: return LLMResult(reason: "invalid response: larger than 1 MiB", attempts: attempts)
                case .other: return LLMResult(reason: "transport error: \(failure.message)", attempts: attempts)
                }
            case .success(let response) where response.status == 200:
                var (result, billed) = OpenAICompatibleClient.parseWithUsage(response.body)
                result.attempts = attempts
                result.httpStatus = 200
                // Without a usage field, the estimate is what the budget counts.
                usage.record(inputTokens: billed?.input ?? estimatedTokens, outputTokens: billed?.output ?? 0)
                limiter.settle(estimated: estimatedTokens, actual: billed.map { $0.input + $0.output } ?? estimatedTokens)
                return result
            case .success(let response):
                let code = OpenAICompatibleClient.errorCode(response.body)
                let reason = "http \(response.status)" + (code.map { " \($0)" } ?? "")
                guard RetryPolicy.retryableStatuses.contains(response.status), code != "insufficient_quota" else {
                    limiter.settle(estimated: estimatedTokens, actual: 0)
                    return LLMResult(reason: reason, attempts: attempts, httpStatus: response.status)
                }
                retry = (reason, response.status, response.retryAfter, response.retryAfterMilliseconds)
            }
            limiter.settle(estimated: estimatedTokens, actual: 0)  // not billed
            let wait = RetryPolicy.delay(after: attempts, retryAfter: retry.retryAfter,
                                         retryAfterMilliseconds: retry.retryAfterMilliseconds)
            // Rate-limited by the provider: every call (inline and background) waits as long as it asks.
            if retry.status == 429 { limiter.pause(until: Date().addingTimeInterval(max(wait, 0.25))) }
            guard attempts <= configuration.maximumRetries, Date().addingTimeInterval(wait) < deadline else {
                return LLMResult(reason: retry.reason, attempts: attempts, httpStatus: retry.status)
            }
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// The reply in a 200 answer: `choices[0].message.content` and `finish_reason`.
    static func parse(_ body: [UInt8]) -> LLMResult { parseWithUsage(body).result }

    /// The reply in a 200 answer and the tokens billed for it (`usage.prompt_tokens`, `usage.completion_tokens`),
    /// when the answer says.
    static func parseWithUsage(_ body: [UInt8]) -> (result: LLMResult, usage: (input: Int, output: Int)?) {
        guard let document = try? JSONParser.parse(body) else { return (LLMResult(reason: "invalid response"), nil) }
        var billed: (input: Int, output: Int)?
        if let usage = document["usage"], let input = usage["prompt_tokens"]?.doubleValue,
           let output = usage["completion_tokens"]?.doubleValue, input.isFinite, output.isFinite, input >= 0, output >= 0,
           input < 1e12, output < 1e12 {
            billed = (Int(input), Int(output))
        }
        return (parseReply(document), billed)
    }

    private static func parseReply(_ document: JSONValue) -> LLMResult {
        guard case .array(let choices)? = document["choices"], let first = choices.first, case .object = first else {
            return LLMResult(reason: "invalid response")
        }
        let finish = first["finish_reason"]?.stringValue
        switch first["message"]?["content"] {
        case .string(let content)? where !content.isEmpty:
            return LLMResult(reply: content, finishReason: finish)
        case .string?, .null?, nil:
            return LLMResult(reason: "empty reply", finishReason: finish)
        default:
            return LLMResult(reason: "invalid response", finishReason: finish)
        }
    }

    /// `error.code` (or `error.type`) of an error answer, when it is a plain identifier.
    static func errorCode(_ body: [UInt8]) -> String? {
        guard let document = try? JSONParser.parse(body), let error = document["error"] else { return nil }
        for field in ["code", "type"] {
            if let value = error[field]?.stringValue, !value.isEmpty, value.count <= 64,
               value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
                return value
            }
        }
        return nil
    }

    /// The failure kind a reason counts under: `http 429 rate_limit_exceeded` → `http 429`.
    static func kind(_ reason: String) -> String {
        if reason.hasPrefix("http ") { return String(reason.prefix(8)) }
        if let colon = reason.firstIndex(of: ":") { return String(reason[..<colon]) }
        return reason
    }

    /// The LLM metrics: calls by outcome, durations, cache hits, and whether the circuit is open.
    func writeMetrics(to text: inout PrometheusText) {
        statistics.write(to: &text)
        text.family("urgencyiq_llm_circuit_open", "gauge", "1 while the circuit breaker keeps calls from the failing endpoint, else 0.")
        text.sample("urgencyiq_llm_circuit_open", breaker.snapshot().state == .open ? 1 : 0)
        let (_, spent) = usage.today
        text.family("urgencyiq_llm_tokens_today", "gauge", "Tokens the model billed today (UTC), every server of the store counted, by kind.")
        text.sample("urgencyiq_llm_tokens_today", [("kind", "input")], spent.inputTokens)
        text.sample("urgencyiq_llm_tokens_today", [("kind", "output")], spent.outputTokens)
        if let budget = configuration.dailyTokenBudget {
            text.family("urgencyiq_llm_daily_token_budget", "gauge", "LLM_DAILY_TOKEN_BUDGET: tokens per UTC day before the LLM step is skipped.")
            text.sample("urgencyiq_llm_daily_token_budget", budget)
        }
        text.family("urgencyiq_llm_single_flight_shared_total", "counter", "Calls answered by an identical call already in flight.")
        text.sample("urgencyiq_llm_single_flight_shared_total", sharedCalls)
    }

    /// For `GET /api/llm/status`: configuration (never the key), circuit, counts and latency.
    public func status(enabled: Bool) -> JSONValue {
        let circuit = breaker.snapshot()
        var object: [String: JSONValue] = [
            "enabled": .bool(enabled), "key_configured": .bool(configuration.hasKey),
            "base_url": .string(configuration.baseURL),
            "model": .string(configuration.modelOverride ?? LLMConfiguration.defaultModel),
            "model_source": .string(configuration.modelOverride == nil ? "the rules (default \(LLMConfiguration.defaultModel))" : "LLM_MODEL"),
            "timeout_ms": .integer(Int64(configuration.timeoutMilliseconds)),
            "max_retries": .integer(Int64(configuration.maximumRetries)),
            "max_concurrency": .integer(Int64(configuration.maximumConcurrency)),
            "in_flight": .integer(Int64(inFlight.load(ordering: .relaxed))),
            "circuit": [
                "state": .string(circuit.state.rawValue), "consecutive_failures": .integer(Int64(circuit.consecutiveFailures)),
                "opened_at": circuit.openedAt.map { .string(Timestamp($0).isoformat) } ?? .null,
                "times_opened": .integer(Int64(circuit.timesOpened)),
                "failure_threshold": .integer(Int64(breaker.threshold)),
                "cooldown_ms": .integer(Int64(configuration.breakerCooldownMilliseconds)),
            ],
            "cache": ["entries": .integer(Int64(cache.count)), "capacity": .integer(Int64(configuration.cacheSize))],
        ]
        if case .object(let counts) = statistics.json { object.merge(counts) { $1 } }
        object["mode"] = .string(configuration.mode.rawValue)
        object["single_flight_shared"] = .integer(Int64(sharedCalls))
        object["rate_limits"] = [
            "requests_per_minute": configuration.requestsPerMinute.map { .integer(Int64($0)) } ?? .null,
            "tokens_per_minute": configuration.tokensPerMinute.map { .integer(Int64($0)) } ?? .null,
            "paused_until": limiter.pausedUntilDate.map { .string(Timestamp($0).isoformat) } ?? .null,
            "refused_calls": .integer(Int64(limiter.refusals)),
        ]
        let (day, spent) = usage.today
        object["tokens"] = [
            "day": .string(day), "calls": .integer(Int64(spent.calls)), "input": .integer(Int64(spent.inputTokens)),
            "output": .integer(Int64(spent.outputTokens)), "total": .integer(Int64(spent.totalTokens)),
            "daily_budget": configuration.dailyTokenBudget.map { .integer(Int64($0)) } ?? .null,
            "remaining": configuration.dailyTokenBudget.map { .integer(Int64(max(0, $0 - spent.totalTokens))) } ?? .null,
        ]
        return .object(object)
    }
}
