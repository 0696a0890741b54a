/// The `llm` module: `llm.complete{system=…, prompt=…, model=…, temperature=…, max_tokens=…, timeout_ms=…}`
/// returns the reply text, or nil and the reason it has none; a third result describes the call
/// (`latency_ms`, `cached`, `attempts`, `http_status`, `finish_reason`).
///
/// The prelude checks the argument table and calls the native function with its fields in order. Where the
/// answer comes from is the evaluation's `LLMSource`: a recorded reply (fixtures), a live client (the server),
/// or nothing ("not configured").
enum LLMModule {
    static let module = HostModule(name: "llm", functions: [("complete", complete)], lua: lua)

    /// What rules see as `llm`: `complete{…}` checks its fields and returns reply, reason and a call description.
    static let lua = """
        local native_complete = native.complete
        local function optional(request, field, expected, level)
          local value = request[field]
          if value ~= nil and type(value) ~= expected then
            error(format("llm.complete: %s must be a %s, got %s", field, expected, type(value)), level or 3)
          end
          return value
        end
        local function whole(request, field, lower, upper)
          local value = optional(request, field, "number", 4)
          if value ~= nil and (value ~= value // 1 or value < lower or value > upper) then
            error(format("llm.complete: %s must be a whole number from %d to %d", field, lower, upper), 3)
          end
          return value and value // 1
        end
        local llm = {}
        function llm.complete(request)
          if type(request) ~= "table" then error("llm.complete expects a table: llm.complete{prompt = ...}", 2) end
          local prompt = optional(request, "prompt", "string")
          if prompt == nil then error("llm.complete: prompt is required", 2) end
          local temperature = optional(request, "temperature", "number")
          if temperature ~= nil and not (temperature >= 0 and temperature <= 2) then
            error("llm.complete: temperature must be from 0 to 2", 2)
          end
          local reply, reason, latency, cached, attempts, status, finish = native_complete(
            optional(request, "system", "string"), prompt, optional(request, "model", "string"), temperature,
            whole(request, "max_tokens", 1, 1000000), whole(request, "timeout_ms", 1, 600000))
          return reply, reason, {
            latency_ms = latency, cached = cached, attempts = attempts, http_status = status, finish_reason = finish,
          }
        end
        return llm
        """


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
