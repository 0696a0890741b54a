/// The `llm` module: `llm.complete{system=…, prompt=…, model=…, temperature=…, max_tokens=…, timeout_ms=…}`
/// returns the reply text, or nil and the reason it has none; a third result describes the call
/// (`latency_ms`, `cached`, `attempts`, `http_status`, `finish_reason`).
///
/// The prelude checks the argument table and calls the native function with its fields in order. Where the
/// answer comes from is the evaluation's `LLMSource`: a recorded reply (fixtures), a live client (the server),
/// or nothing ("not configured").
enum LLMModule {
    static let module = HostModule(name: "llm", functions: [("complete", complete)])

    /// complete(system, prompt, model, temperature, max_tokens, timeout_ms)
    /// → reply, reason, latency_ms, cached, attempts, http_status, finish_reason
    private static let complete: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        let result: LLMResult
        switch environment.llm {
        case .replay(let reply?):
            result = LLMResult(reply: reply)
        case .replay(nil):
            result = .skipped("no recorded reply")
        case .unconfigured:
            result = .skipped("not configured")
        case .live(let client):
            let arguments = call.arguments
            guard let prompt = arguments.string(at: 2) else { return call.fail("llm.complete: prompt must be a string") }
            let request = LLMRequest(system: arguments.string(at: 1), prompt: prompt, model: arguments.string(at: 3),
                                     temperature: arguments.number(at: 4), maxTokens: arguments.integer(at: 5).map { Int($0) },
                                     timeoutMilliseconds: arguments.integer(at: 6).map { Int($0) })
            result = client.complete(request)
        }
        if let reply = result.reply { call.returnString(environment.arena.copy(reply)) } else { call.returnNil() }
        if let reason = result.reason { call.returnString(environment.arena.copy(reason)) } else { call.returnNil() }
        call.returnNumber((result.latencyMilliseconds * 10).rounded() / 10)
        call.returnBoolean(result.cached)
        call.returnInteger(result.attempts)
        if let status = result.httpStatus { call.returnInteger(status) } else { call.returnNil() }
        if let finish = result.finishReason { call.returnString(environment.arena.copy(finish)) } else { call.returnNil() }
        return 0
    }
}
