import Foundation
import Support

/// What asked for a reload.
public enum ReloadTrigger: String, Sendable {
    /// The watcher saw the rules directory change (inotify or polling).
    case fileChange = "file change"
    /// The process received SIGHUP.
    case signal = "SIGHUP"
    /// `POST /api/rules/reload`.
    case api
    /// `PUT /api/rules`: a rule set sent by a person, written to the rules directory once it passed.
    case deploy
    /// A rule set deployed on another server of the fleet (PostgreSQL), pulled from the database.
    case fleet

    /// Whether a person asked for this reload (and so wants an answer even when nothing changed).
    public var isExplicit: Bool { self != .fileChange }
}

/// One attempt to load the rules directory and activate it: why it ran, what came of it, how long it took.
public struct ReloadAttempt: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        /// The new version is serving.
        case activated
        /// The files did not change: the same version keeps serving.
        case unchanged
        /// The rules failed to load, the probe or the gate: the previous version keeps serving.
        case rejected
    }

    public var trigger: ReloadTrigger
    public var startedAt: Date
    public var duration: TimeInterval
    public var outcome: Outcome
    /// The version of the files looked at (nil when they could not even be read).
    public var candidateVersion: String?
    /// Why the attempt was rejected: `file:line: message`, or the gate's summary.
    public var error: String?
    /// When the rules did not load: the error with its kind, file and line apart.
    public var loadError: RulesError?
    /// The gate's results, when a gate is configured and the rules loaded.
    public var gate: GateResult?
    /// Set when the files (and the gate's fixtures) were exactly those of the previous attempt, so nothing was
    /// attempted again: the answer repeats the previous outcome, and nothing is counted or recorded.
    public var repeated = false
    /// Who asked, for deploys: the API key's name, `admin-token` (ADMIN_TOKEN) or `loopback` (a local client without one).
    public var requestedBy: String?

    public init(trigger: ReloadTrigger, startedAt: Date, duration: TimeInterval = 0, outcome: Outcome,
                candidateVersion: String? = nil, error: String? = nil, gate: GateResult? = nil) {
        self.trigger = trigger
        self.startedAt = startedAt
        self.duration = duration
        self.outcome = outcome
        self.candidateVersion = candidateVersion
        self.error = error
        self.gate = gate
    }
}

/// What the golden-fixture gate said about a candidate rule set.
public struct GateResult: Sendable {
    public var directory: String
    public var passed: Int
    public var failed: Int
    /// The first failures, as `file:line: expected X, got Y`.
    public var failures: [String]
    /// Set when the fixtures could not all be scored within the gate's time budget.
    public var timedOut: DeadlineExceeded?
    /// Labelled sets whose accuracy fell below their thresholds, as `file: pairwise 0.820 is below the minimum 0.900`.
    public var accuracyMisses: [String] = []
    /// The labelled sets' figures, as `file: accuracy: n=… pairwise=…`.
    public var accuracy: [String] = []

    public init(directory: String, passed: Int, failed: Int, failures: [String], timedOut: DeadlineExceeded? = nil) {
        self.directory = directory
        self.passed = passed
        self.failed = failed
        self.failures = failures
        self.timedOut = timedOut
    }
}
