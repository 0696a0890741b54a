import CLua
import CLuaHost
import Support

/// One sandboxed Lua state with one rule set loaded, ready to score messages.
///
/// Built by running the sandbox prelude, then `urgency.lua` (and whatever it requires), then freezing the
/// globals. Used by one evaluation at a time; `@unchecked Sendable` because the pool hands it from thread to
/// thread, never to two at once.
final class RuleVM: @unchecked Sendable {
    let ruleSet: RuleSet
    private let state: LuaState
    private let environment: HostEnvironment
    private let limits: EngineLimits
    /// The C closure that builds the message table and calls score(message, ctx).
    private let evaluator: LuaReference
    /// The response targets the rules declared (`sla`), if any.
    private(set) var declaredTargets: ResponseTargets?
    /// The global `fallback` the rules declared (a finite number), if any.
    let declaredFallback: Double?
    /// Set when an evaluation hit the instruction budget or the memory cap: the pool then drops this state
    /// instead of reusing it, so nothing an aborted evaluation left half-done can affect the next one.
    private(set) var isSpent = false
    /// Writes the breakdown tables the rules return as JSON.
    /// Writes each breakdown as JSON text (internal for tests: it counts what it did).
    let breakdownWriter = LuaJSONWriter()

    init(ruleSet: RuleSet, limits: EngineLimits, log: any RuleLogSink) throws(RulesError) {
        self.ruleSet = ruleSet
        self.limits = limits
        environment = HostEnvironment(ruleSet: ruleSet, limits: limits, log: log)
        do {
            state = try LuaState(memoryLimit: limits.memoryPerState, budget: limits.sharedMemory, regexMatchLimit: limits.regexMatchLimit,
                                 regexDepthLimit: limits.regexDepthLimit)
            try state.openLibraries()
            let contextPointer = Unmanaged.passUnretained(environment).toOpaque()
            for module in HostModule.all {
                for (name, function) in module.functions {
                    if let type = module.methodsOf {
                        try state.registerMethod(module: module.name, name: name, function: function,
                                                 context: contextPointer, receiver: type)
                    } else {
                        try state.register(module: module.name, name: name, function: function, context: contextPointer)
                    }
                }
                if let natives = module.natives {
                    try state.registerNatives(module: module.name, natives, receiver: module.methodsOf)
                }
                if let type = module.methodsOf { try state.defineObjectType(type, methodsModule: module.name) }
            }

            state.pushModules()
            try state.runChunk(Sandbox.prelude, chunkName: Sandbox.chunkName, arguments: 1, results: 2,
                               budget: limits.instructionsForLoading)
            let finish = try state.popReference()
            let loadEntry = try state.popReference()

            state.push(loadEntry)
            try state.call(arguments: 0, results: 0, budget: limits.instructionsForLoading)

            state.push(finish)
            try state.call(arguments: 0, results: 5, budget: limits.instructionsForLoading)
            if state.type(at: -1) != LUA_TNIL {
                var budget = 1000
                declaredTargets = try ResponseTargets(declared: LuaStack(state.raw).json(at: -1, budget: &budget))
            }
            state.top = state.top - 1
            let fallbackType = state.type(at: -1)
            let fallback = fallbackType == LUA_TNUMBER ? LuaStack(state.raw).number(at: -1) : nil
            guard fallbackType == LUA_TNIL || fallback?.isFinite == true else {
                throw RulesError(kind: .runtime, file: RuleSet.entryFile, message: "fallback must be a finite number")
            }
            declaredFallback = fallback
            state.top = state.top - 1
            guard state.type(at: -3) == LUA_TFUNCTION else {
                throw RulesError(kind: .missingScore, file: RuleSet.entryFile,
                                 message: "urgency.lua must define a global function score(message, ctx)")
            }
            try state.check(uiq_make_evaluator(state.raw), context: "preparing the evaluator")
            evaluator = try state.popReference()
            state.top = 0
            environment.arena.reset()
        } catch let error as LuaError {
            throw RulesError(loading: error)
        } catch let error as RulesError {
            throw error
        } catch {
            throw RulesError(kind: .runtime, message: "\(error)")
        }
    }

    /// Runs `score(message, ctx)` once. Returns the score and, when `explain` is set, the breakdown table
    /// the rules returned, as JSON members (none when they returned nil).
    func evaluate(_ input: ScoringInput, options: ScoringOptions) throws(ScoringError) -> (value: Double, details: JSONObjectText?) {
        try withUTF8(input.text) { bytes in
            Result { () throws(ScoringError) in try evaluate(text: bytes, customerID: input.customerID, options: options) }
        }.get()
    }

    /// `evaluate` for a message given as its UTF-8 bytes (bulk scoring, without a `String` per message).
    func evaluate(text bytes: UnsafeRawBufferPointer, customerID: Int64?,
                  options: ScoringOptions) throws(ScoringError) -> (value: Double, details: JSONObjectText?) {
        let explain = options.explain
        environment.logLines = 0
        environment.llm = options.llm
        defer {
            state.top = 0
            environment.arena.reset()
        }
        let status = uiq_evaluate(state.raw, evaluator.raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                                  bytes.count, customerID ?? 0, customerID == nil ? 0 : 1, explain ? 1 : 0,
                                  options.llmEnabled ? 1 : 0, Int64(limits.instructionsPerEvaluation))
        do {
            try state.check(status, context: nil)
        } catch {
            if error.kind == .instructionBudget || error.kind == .memory { isSpent = true }
            throw ScoringError(evaluating: error)
        }
        let stack = LuaStack(state.raw)
        guard let value = stack.number(at: 1) else {
            let got = stack.type(at: 1) == LUA_TSTRING ? "a string" : "a \(state.typeName(stack.type(at: 1))) value"
            throw ScoringError(kind: .invalidResult, file: RuleSet.entryFile,
                               message: "score() must return a number, it returned \(got)")
        }
        guard value.isFinite else {
            throw ScoringError(kind: .invalidResult, file: RuleSet.entryFile,
                               message: "score() must return a finite number, it returned \(value.isNaN ? "NaN" : value > 0 ? "inf" : "-inf")")
        }
        guard explain else { return (value, nil) }
        return (value, breakdownWriter.breakdown(state.raw, at: 2))
    }

    /// What the rules' global function `inventory()` returns (the names of every tier keyword, modifier,
    /// intent… for `check --coverage`), or nil when they define none.
    func inventory() throws(ScoringError) -> [String]? {
        defer { state.top = 0 }
        state.top = 0
        guard state.pushGlobal("inventory") == LUA_TFUNCTION else { return nil }
        do {
            try state.call(arguments: 0, results: 1, budget: limits.instructionsForLoading)
        } catch {
            if error.kind == .instructionBudget || error.kind == .memory { isSpent = true }
            throw ScoringError(evaluating: error)
        }
        var budget = 1_000_000
        guard case .array(let items) = LuaStack(state.raw).json(at: -1, budget: &budget) else {
            throw ScoringError(kind: .invalidResult, file: RuleSet.entryFile, message: "inventory() must return a list of names")
        }
        return items.compactMap(\.stringValue)
    }

}

/// Calls `body` with the UTF-8 bytes of `text`, without copying when the string is stored contiguously.
@inline(__always)
func withUTF8<R>(_ text: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
        return result
    }
    return Array(text.utf8).withUnsafeBytes(body)
}
