/// The `llm` module: `llm.complete{system=…, prompt=…, model=…}` returns the reply text, or nil and the
/// reason it has none.
///
/// During a fixture run it replays the recorded reply (`LLMSource.replay`). Otherwise this is the place the LLM
/// transport plugs in (libcurl, deadline, retries, cache, circuit breaker); until it does, every call answers
/// nil with "not configured" and rules fall back to their keyword score.
enum LLMModule {
    static let module = HostModule(name: "llm", functions: [("complete", complete)])

    private static let complete: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        switch environment.llm {
        case .replay(let reply?):
            call.returnString(environment.arena.copy(reply))
        case .replay(nil):
            call.returnNil()
            call.returnString(environment.arena.copy("no recorded reply"))
        case .configured:
            call.returnNil()
            call.returnString(environment.arena.copy("not configured"))
        }
        return 0
    }
}
