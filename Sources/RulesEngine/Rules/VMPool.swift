import Synchronization

/// The Lua states of one rule set version: hands one state to one evaluation at a time, builds more when all
/// are busy, keeps up to `limits.idleStates` idle, and drops states an evaluation left spent.
final class VMPool: Sendable {
    let ruleSet: RuleSet
    private let limits: EngineLimits
    private let log: any RuleLogSink
    private let idle = Mutex<[RuleVM]>([])
    /// The `fallback` the rules declared, if any.
    let declaredFallback: Double?
    /// The response targets (`sla`) the rules declared, if any.
    let declaredTargets: ResponseTargets?

    /// Compiles every file and builds the first state right away, so a rule set that does not load fails here.
    init(ruleSet: RuleSet, limits: EngineLimits, log: any RuleLogSink) throws(RulesError) {
        self.ruleSet = ruleSet
        self.limits = limits
        self.log = log
        try SyntaxCheck.run(ruleSet, limits: limits)
        let first = try RuleVM(ruleSet: ruleSet, limits: limits, log: log)
        declaredFallback = first.declaredFallback
        declaredTargets = first.declaredTargets
        idle.withLock { $0.append(first) }
    }

    /// Runs `body` with a state of its own.
    func withVM<R>(_ body: (RuleVM) throws(ScoringError) -> R) throws(ScoringError) -> R {
        let vm = try checkOut()
        defer { checkIn(vm) }
        return try body(vm)
    }

    /// Runs `body` with a state of its own for a run of evaluations: `current()` gives the state, taken from the
    /// pool once, and a fresh one after an evaluation left it spent. Bulk scoring goes through the pool once per
    /// run instead of twice per message.
    func withVMs<R>(_ body: (_ current: () throws(ScoringError) -> RuleVM) -> R) -> R {
        var held: RuleVM?
        defer { if let held { checkIn(held) } }
        return body { () throws(ScoringError) -> RuleVM in
            if let vm = held, !vm.isSpent { return vm }
            if let spent = held {
                held = nil
                checkIn(spent)  // dropped: it is spent
            }
            let fresh = try checkOut()
            held = fresh
            return fresh
        }
    }

    private func checkOut() throws(ScoringError) -> RuleVM {
        if let vm = idle.withLock({ $0.popLast() }) { return vm }
        do {
            return try RuleVM(ruleSet: ruleSet, limits: limits, log: log)
        } catch {
            throw ScoringError(kind: .runtime, file: error.file, line: error.line,
                               message: "cannot build a Lua state for the rules: \(error.message)")
        }
    }

    private func checkIn(_ vm: RuleVM) {
        guard !vm.isSpent else { return }
        idle.withLock { states in
            if states.count < limits.idleStates { states.append(vm) }
        }
    }

}
