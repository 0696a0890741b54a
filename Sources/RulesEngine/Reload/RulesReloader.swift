import Foundation
import Synchronization

/// Loads the rules directory into fresh Lua states, validates it (it loads, defines score(), scores the probe
/// message, and passes the golden-fixture gate when one is configured) and only then activates it. A broken
/// or failing rule set never replaces a good one. One reload runs at a time.
public final class RulesReloader: Sendable {
    public let directory: String
    /// Fixtures every candidate must pass (`--gate DIR`), or nil.
    public let gate: String?
    private let rules: ActiveRules
    private let limits: EngineLimits
    private let log: any RuleLogSink
    private let running = Mutex<Void>(())
    /// Told after a new version is activated (the server refreshes its fleet entry).
    private let onActivate: (@Sendable () -> Void)?
    /// Failures listed in a rejected attempt at most.
    static let listedFailures = 20

    public init(directory: String, rules: ActiveRules, limits: EngineLimits = EngineLimits(),
                log: any RuleLogSink = StandardErrorLogSink(), gate: String? = nil,
                onActivate: (@Sendable () -> Void)? = nil) {
        self.onActivate = onActivate
        self.directory = directory
        self.rules = rules
        self.limits = limits
        self.log = log
        self.gate = gate
    }

    /// Loads, validates and (when all is well) activates the rules; records and returns the attempt.
    @discardableResult
    public func reload(trigger: String) -> ReloadAttempt {
        running.withLock { _ in
            let started = Date()
            var attempt = ReloadAttempt(trigger: trigger, startedAt: started, duration: 0, outcome: .rejected)
            defer {
                attempt.duration = Date().timeIntervalSince(started)
                rules.record(attempt)
                if attempt.outcome != .unchanged || trigger != "file change" { report(attempt) }
            }
            let ruleSet: RuleSet
            do {
                ruleSet = try RuleSet.load(from: directory)
            } catch {
                attempt.error = "\(error)"
                return attempt
            }
            attempt.candidateVersion = ruleSet.version
            guard ruleSet.hash != rules.scorer.ruleSet.hash else {
                attempt.outcome = .unchanged
                return attempt
            }
            let scorer: Scorer
            do {
                scorer = try Scorer(ruleSet: ruleSet, limits: limits, log: log)
            } catch {
                attempt.error = "\(error)"
                return attempt
            }
            if let gate {
                let result = RulesReloader.runGate(gate, scorer: scorer)
                attempt.gate = result
                guard result.failed == 0, result.passed > 0 else {
                    attempt.error = result.passed + result.failed == 0
                        ? "the gate \(gate) has no fixtures" + (result.failures.first.map { ": \($0)" } ?? "")
                        : "the gate refused the rules: \(result.failed) of \(result.passed + result.failed) fixtures fail"
                    return attempt
                }
            }
            rules.activate(scorer)
            attempt.outcome = .activated
            onActivate?()
            return attempt
        }
    }

    /// One log line per attempt: what triggered it and how it ended.
    private func report(_ attempt: ReloadAttempt) {
        let duration = String(format: "%.1f ms", attempt.duration * 1000)
        log.write(level: attempt.outcome == .rejected ? .error : .info,
                  message: "reload (\(attempt.trigger)): \(attempt.outcome.rawValue) in \(duration)"
                      + (attempt.outcome == .rejected ? ", still serving \(rules.scorer.rulesVersion)" : "")
                      + (attempt.error.map { ": \($0)" } ?? ""),
                  rulesVersion: attempt.candidateVersion ?? "-")
    }

    /// Runs the fixtures under `directory` against `scorer`.
    public static func runGate(_ directory: String, scorer: Scorer) -> GateResult {
        var fixtures: [Fixture] = []
        do {
            for file in try FixtureLoader.files(in: [directory]) { fixtures += try FixtureLoader.load(file) }
        } catch {
            return GateResult(directory: directory, passed: 0, failed: 0, failures: ["\(error)"])
        }
        let results = FixtureRunner(scorer: scorer).run(fixtures)
        let failures = results.filter { !$0.passed }
        return GateResult(directory: directory, passed: results.count - failures.count, failed: failures.count,
                          failures: failures.prefix(listedFailures).map { result in
                              let got = result.score.map { JSONValue.format(number: $0) } ?? "error: \(result.error.map(String.init(describing:)) ?? "?")"
                              return "\(result.fixture.location): expected \(result.fixture.expected), got \(got)"
                          })
    }
}
