import Foundation
import Support

/// Scores messages with one rule set. The CLI, the fixture harness, the dry-run endpoint and the server all
/// score through this type, so a fixture that passes is a promise about production.
///
/// Thread-safe: each evaluation takes a Lua state of its own from the pool.
public final class Scorer: Sendable {
    public let ruleSet: RuleSet
    public let limits: EngineLimits
    /// Evaluations and failures of this version.
    public let statistics = ScoringStatistics()
    private let pool: VMPool

    /// Loads `ruleSet` into a first Lua state (so broken rules fail here) and scores a probe message.
    public init(ruleSet: RuleSet, limits: EngineLimits = EngineLimits(),
                log: any RuleLogSink = StandardErrorLogSink()) throws(RulesError) {
        self.ruleSet = ruleSet
        self.limits = limits
        pool = try VMPool(ruleSet: ruleSet, limits: limits, log: log)
        do {
            _ = try score(ScoringInput(text: Scorer.probeMessage, customerID: 1))
        } catch {
            throw RulesError(kind: .probe, file: error.file, line: error.line,
                             message: "scoring the probe message failed: \(error.message)")
        }
        statistics.reset()
    }

    /// Loads the rules in `directory` and prepares to score with them.
    public convenience init(rulesDirectory directory: String, limits: EngineLimits = EngineLimits(),
                            log: any RuleLogSink = StandardErrorLogSink()) throws(RulesError) {
        try self.init(ruleSet: try RuleSet.load(from: directory), limits: limits, log: log)
    }

    /// The score stored for a message the rules fail on: the global `fallback` of urgency.lua, or
    /// `Scorer.defaultFallback` when the rules declare none.
    public var fallbackScore: Double { pool.declaredFallback ?? Scorer.defaultFallback }

    /// How fast messages must first be answered, by urgency level (the rules' `sla`), or nil when they set none.
    public var responseTargets: ResponseTargets? { pool.declaredTargets }

    /// Medium urgency: a message the rules could not score should still be seen by a person.
    public static let defaultFallback = 3.0

    /// Scores each message without its breakdown, in order, each result on its own: what scoring a file or a
    /// batch on every core does with a run of messages (one Lua state for the run, counted once).
    public func scoreEach(_ inputs: [ScoringInput], options: ScoringOptions = ScoringOptions(explain: false))
        -> [Result<Double, ScoringError>] {
        scoreEach(count: inputs.count, options: options) { vm, index, options throws(ScoringError) in
            try vm.evaluate(inputs[index], options: options).value
        }
    }

    /// `scoreEach` for messages given as UTF-8 bytes, `text(i)` for the i-th of `count` (valid UTF-8; bulk scoring
    /// of a file without a `String` per message). The bytes need only live for the call.
    public func scoreEach(count: Int, options: ScoringOptions = ScoringOptions(explain: false),
                          text: (Int) -> UnsafeRawBufferPointer) -> [Result<Double, ScoringError>] {
        scoreEach(count: count, options: options) { vm, index, options throws(ScoringError) in
            try vm.evaluate(text: text(index), customerID: nil, options: options).value
        }
    }

    private func scoreEach(count: Int, options: ScoringOptions,
                           evaluate: (RuleVM, Int, ScoringOptions) throws(ScoringError) -> Double) -> [Result<Double, ScoringError>] {
        var options = options
        options.explain = false
        var failed = 0
        let results = pool.withVMs { current in
            (0..<count).map { index -> Result<Double, ScoringError> in
                do throws(ScoringError) {
                    return .success(try evaluate(try current(), index, options))
                } catch {
                    failed += 1
                    return .failure(error)
                }
            }
        }
        statistics.recordEvaluations(count, failed: failed)
        return results
    }

    /// Scores one message and never fails: when the rules fail on it, the result is the fallback score with the
    /// error in its breakdown (and returned, for counting).
    public func scoreOrFallback(_ input: ScoringInput, options: ScoringOptions = ScoringOptions())
        -> (score: Score, error: ScoringError?) {
        do {
            return (try score(input, options: options), nil)
        } catch {
            let breakdown = Breakdown(urgency: fallbackScore, rulesVersion: ruleSet.version, evaluationMicroseconds: 0,
                                      rules: ["fallback": true], error: error.description)
            return (Score(value: fallbackScore, rulesVersion: ruleSet.version, breakdown: breakdown), error)
        }
    }

    /// The names of everything the rules can fire (`inventory()` in urgency.lua), or nil when they do not say.
    public func inventory() throws(ScoringError) -> [String]? {
        try pool.withVM { vm throws(ScoringError) in try vm.inventory() }
    }

    /// The message a rule set must be able to score before it is accepted.
    public static let probeMessage = "Hello, why was my loan application rejected??? Please help."

    /// The rules version this scorer uses.
    public var rulesVersion: String { ruleSet.version }

    /// Scores one message. Throws when the rules fail on it (error, limit, or a result that is not a finite
    /// number); the scorer stays usable either way.
    public func score(_ input: ScoringInput, options: ScoringOptions = ScoringOptions()) throws(ScoringError) -> Score {
        let started = options.explain ? DispatchTime.now().uptimeNanoseconds : 0
        let value: Double, details: JSONObjectText?
        do {
            (value, details) = try pool.withVM { vm throws(ScoringError) in try vm.evaluate(input, options: options) }
            statistics.recordEvaluation(failed: false)
        } catch {
            statistics.recordEvaluation(failed: true)
            throw error
        }
        guard options.explain else { return Score(value: value, rulesVersion: ruleSet.version, breakdown: nil) }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
        let breakdown = Breakdown(urgency: value, rulesVersion: ruleSet.version, evaluationMicroseconds: elapsed,
                                  rulesText: details ?? JSONObjectText(members: []))
        return Score(value: value, rulesVersion: ruleSet.version, breakdown: breakdown)
    }
}
