import Foundation
import Synchronization
import Support

/// Loads the rules directory into fresh Lua states, validates it (every file compiles, it loads, defines
/// score(), scores the probe message, and passes the golden-fixture gate when one is configured) and only then
/// activates it. A broken or failing rule set never replaces a good one. One reload runs at a time.
///
/// Files are tried once: an attempt on exactly the files (and gate fixtures) of the previous attempt, whatever
/// came of it, is not made again, so the extra file events one save can raise cost nothing and change no count.
public final class RulesReloader: Sendable {
    public let directory: String
    /// Fixtures every candidate must pass (`--gate DIR`), or nil.
    public let gate: String?
    /// Seconds the gate may take for one candidate (`CHECK_TIMEOUT`).
    public let gateTimeout: Double
    private let rules: ActiveRules
    private let limits: EngineLimits
    private let log: any RuleLogSink
    /// Serializes reloads; holds the content key of the last files tried (the active ones at first).
    private let lastTried: Mutex<String>
    /// Told after a new version is activated (the server refreshes its fleet entry).
    private let onActivate: (@Sendable () -> Void)?
    /// Failures listed in a rejected attempt at most.
    static let listedFailures = 20

    public init(directory: String, rules: ActiveRules, limits: EngineLimits = EngineLimits(),
                log: any RuleLogSink = StandardErrorLogSink(), gate: String? = nil, gateTimeout: Double = 10,
                onActivate: (@Sendable () -> Void)? = nil) {
        self.gateTimeout = gateTimeout
        self.onActivate = onActivate
        self.directory = directory
        self.rules = rules
        self.limits = limits
        self.log = log
        self.gate = gate
        lastTried = Mutex(RulesReloader.key(rules: "files:" + rules.scorer.ruleSet.hash, gate: gate))
    }

    /// Loads, validates and (when all is well) activates the rules; records and returns the attempt. When the
    /// files are those of the last attempt, returns that attempt's outcome marked `repeated` and records nothing.
    @discardableResult
    public func reload(trigger: ReloadTrigger) -> ReloadAttempt {
        lastTried.withLock { lastKey in
            let started = Date()
            var attempt = ReloadAttempt(trigger: trigger, startedAt: started, outcome: .rejected)
            let contents: [String: [UInt8]]?
            let filesKey: String
            do throws(RulesError) {
                let read = try RuleSet.readFiles(from: directory)
                contents = read
                filesKey = "files:" + RuleSet.contentHash(of: read)
            } catch {
                contents = nil
                filesKey = "unreadable:" + error.description
                attempt.error = error.description
            }
            let key = RulesReloader.key(rules: filesKey, gate: gate)
            if key == lastKey {
                let repeated = repeatOfLastAttempt(trigger: trigger, at: started)
                // A person asked (API, SIGHUP): the history shows the answer they got; file events stay silent.
                if trigger.isExplicit { rules.remember(repeated) }
                return repeated
            }
            lastKey = key
            let scorer = contents.flatMap { validate($0, &attempt) }
            attempt.duration = Date().timeIntervalSince(started)
            if let scorer {
                attempt.outcome = .activated
                rules.activate(scorer, recording: attempt)  // one step: whoever sees the new version sees its attempt
                onActivate?()
            } else {
                rules.record(attempt)
            }
            report(attempt)
            return attempt
        }
    }

    /// Deploys `files` (path → source) as the whole rule set: validated like a reload (loads, scores the probe,
    /// passes the gate), then written over the rules directory's rule files (`RulesDirectoryWriter`) and
    /// activated, in one step under the reload lock, so the watcher, which waits for it, then finds the files
    /// it just activated and does nothing. Rejected: nothing on disk changes. `by` is recorded in the attempt.
    @discardableResult
    public func deploy(_ files: [String: [UInt8]], trigger: ReloadTrigger = .deploy, by: String?) -> ReloadAttempt {
        lastTried.withLock { lastKey in
            let started = Date()
            var attempt = ReloadAttempt(trigger: trigger, startedAt: started, outcome: .rejected)
            attempt.requestedBy = by
            // What is on disk now: a deploy replaces exactly that set, so it must be readable.
            let current: [String: [UInt8]]
            do throws(RulesError) {
                current = try RuleSet.readFiles(from: directory)
            } catch {
                attempt.error = "the rules directory cannot be read, so nothing was replaced: \(error.description)"
                return refuse(attempt, started: started)
            }
            if let misplaced = RulesReloader.fileInsideAProfile(files, directory: directory) {
                attempt.error = "\(misplaced): a folder with its own \(RuleSet.entryFile) is a profile of its own, which a "
                    + "deploy leaves alone (and a reload would not read): deploy that profile by itself"
                return refuse(attempt, started: started)
            }
            if let scorer = validate(files, &attempt) {
                do throws(RulesDirectoryWriter.WriteError) {
                    try RulesDirectoryWriter.replace(directory, current: current, with: files)
                    lastKey = RulesReloader.key(rules: "files:" + RuleSet.contentHash(of: files), gate: gate)
                    attempt.outcome = .activated
                    attempt.duration = Date().timeIntervalSince(started)
                    rules.activate(scorer, recording: attempt)
                    onActivate?()
                } catch {
                    attempt.error = "the rules directory \(directory) cannot be written: \(error.description)"
                    attempt.duration = Date().timeIntervalSince(started)
                    rules.record(attempt)
                }
            } else {
                attempt.duration = Date().timeIntervalSince(started)
                rules.record(attempt)
            }
            report(attempt)
            return attempt
        }
    }

    /// Records and reports a refused deploy; the attempt.
    private func refuse(_ attempt: ReloadAttempt, started: Date) -> ReloadAttempt {
        var attempt = attempt
        attempt.duration = Date().timeIntervalSince(started)
        rules.record(attempt)
        report(attempt)
        return attempt
    }

    /// The first path of `files` inside a folder that has its own entry file (in `files` or on disk): such a
    /// folder is another profile, which reading the directory skips.
    static func fileInsideAProfile(_ files: [String: [UInt8]], directory: String) -> String? {
        for path in files.keys.sorted() {
            for folder in RelativePath.folders(of: path) {
                let entry = folder + "/" + RuleSet.entryFile
                if files[entry] != nil || FileManager.default.fileExists(atPath: directory + "/" + entry) { return path }
            }
        }
        return nil
    }

    /// The scorer of `contents` when they load, score the probe and pass the gate; else nil, with the outcome
    /// and error in `attempt`.
    private func validate(_ contents: [String: [UInt8]], _ attempt: inout ReloadAttempt) -> Scorer? {
        let ruleSet: RuleSet
        do throws(RulesError) {
            ruleSet = try RuleSet(files: contents, directory: directory)
        } catch {
            attempt.error = error.description
            attempt.loadError = error
            return nil
        }
        attempt.candidateVersion = ruleSet.version
        guard ruleSet.hash != rules.scorer.ruleSet.hash else {
            attempt.outcome = .unchanged
            return nil
        }
        let scorer: Scorer
        do throws(RulesError) {
            scorer = try Scorer(ruleSet: ruleSet, limits: limits, log: log)
        } catch {
            attempt.error = error.description
            attempt.loadError = error
            return nil
        }
        if let gate {
            let result = RulesReloader.runGate(gate, scorer: scorer, deadline: Deadline(seconds: gateTimeout))
            attempt.gate = result
            if let refusal = result.refusal {
                attempt.error = refusal
                return nil
            }
        }
        return scorer
    }

    /// The answer to an attempt on the files of the last one: its outcome again, nothing recorded. Only a
    /// person's request (API, SIGHUP) is logged; a repeated file event is free.
    private func repeatOfLastAttempt(trigger: ReloadTrigger, at time: Date) -> ReloadAttempt {
        let last = rules.lastAttempt
        var attempt = ReloadAttempt(trigger: trigger, startedAt: time,
                                    outcome: last?.outcome == .rejected ? .rejected : .unchanged,
                                    candidateVersion: last?.candidateVersion ?? rules.scorer.rulesVersion,
                                    error: last?.outcome == .rejected ? last?.error : nil,
                                    gate: last?.outcome == .rejected ? last?.gate : nil)
        attempt.repeated = true
        if trigger.isExplicit {
            log.write(level: .info,
                      message: "reload (\(trigger.rawValue)): the same files as the last attempt, not attempted again"
                          + (attempt.outcome == .rejected ? " (rejected: \(attempt.error ?? "?"))" : ""),
                      rulesVersion: attempt.candidateVersion ?? "-")
        }
        return attempt
    }

    /// One log line per attempt: what triggered it and how it ended.
    private func report(_ attempt: ReloadAttempt) {
        let duration = String(format: "%.1f ms", attempt.duration * 1000)
        log.write(level: attempt.outcome == .rejected ? .error : .info,
                  message: "reload (\(attempt.trigger.rawValue)): \(attempt.outcome.rawValue) in \(duration)"
                      + (attempt.outcome == .rejected ? ", still serving \(rules.scorer.rulesVersion)" : "")
                      + (attempt.error.map { ": \($0)" } ?? ""),
                  rulesVersion: attempt.candidateVersion ?? "-")
    }

    /// What identifies an attempt: the rule files' content and, with a gate, its fixtures' content.
    private static func key(rules: String, gate: String?) -> String {
        guard let gate else { return rules }
        return rules + "|gate:" + gateFingerprint(gate)
    }

    /// A hash of the gate's fixture files (names and contents), or why they cannot be read.
    static func gateFingerprint(_ directory: String) -> String {
        do {
            var hasher = SHA256()
            for file in try FixtureLoader.files(in: [directory]) {
                guard let data = FileManager.default.contents(atPath: file) else { return "unreadable:" + file }
                hasher.update(Array(file.utf8) + [0] + Array(SHA256.hex([UInt8](data)).utf8) + [10])
            }
            return hasher.finalizeHex()
        } catch {
            return "unreadable:" + error.description
        }
    }

    /// Runs the fixtures under `directory` against `scorer`, within `deadline`.
    public static func runGate(_ directory: String, scorer: Scorer, deadline: Deadline) -> GateResult {
        let fixtures: [Fixture]
        do {
            fixtures = try FixtureLoader.loadAll([directory])
        } catch {
            return GateResult(directory: directory, passed: 0, failed: 0, failures: ["\(error)"])
        }
        let results: [FixtureResult]
        do {
            results = try FixtureRunner(scorer: scorer).run(fixtures, deadline: deadline)
        } catch {
            return GateResult(directory: directory, passed: 0, failed: 0, failures: [], timedOut: error)
        }
        let report: CheckReport
        do {
            report = CheckReport(results: results, rulesVersion: scorer.rulesVersion, accuracy: try AccuracySet.sets(in: results))
        } catch {
            return GateResult(directory: directory, passed: 0, failed: 0, failures: ["\(error)"])
        }
        let failures = report.checks.filter { !$0.passed }
        var result = GateResult(directory: directory, passed: report.passed, failed: report.failed,
                                failures: failures.prefix(listedFailures).map { result in
                                    let got = result.score.map { JSONValue.format(number: $0) } ?? "error: \(result.error.map(String.init(describing:)) ?? "?")"
                                    return "\(result.fixture.location): expected \(result.fixture.expected.map(\.description) ?? "?"), got \(got)"
                                })
        result.accuracyMisses = report.accuracyMisses
        result.accuracy = report.accuracy.map { "\($0.file): \($0.figures.line)" }
        return result
    }
}

extension GateResult {
    /// Why the gate refuses the rules, or nil when it lets them through.
    public var refusal: String? {
        if let timedOut { return "the gate \(timedOut.description) (fixtures of \(directory))" }
        if failed > 0 { return "the gate refused the rules: \(failed) of \(passed + failed) fixtures fail" }
        if !accuracyMisses.isEmpty { return "the gate refused the rules: accuracy fell, " + accuracyMisses.joined(separator: "; ") }
        if passed == 0 && accuracy.isEmpty {
            return "the gate \(directory) has no fixtures" + (failures.first.map { ": \($0)" } ?? "")
        }
        return nil
    }
}
