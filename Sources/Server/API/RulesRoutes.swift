import Foundation
import RulesEngine
import Support

/// How the server watches its rules directory, as `GET /api/rules` shows it.
public struct RulesWatching: Sendable, Equatable {
    public var inotify: Bool
    public var pollSeconds: Double?

    var json: JSONValue { ["inotify": .bool(inotify), "poll_seconds": pollSeconds.map(JSONValue.number) ?? .null] }
}

/// The rules endpoints: what is active and what the last reload did, a reload on demand, a dry-run score, and
/// a check of a candidate rule set against the golden fixtures with the diff against the active version.
struct RulesRoutes {
    let rules: ActiveRules
    let reloader: RulesReloader
    let scoring: ScoringService
    /// This server in the fleet of servers sharing the store.
    let instance: InstanceRegistry
    let watching: RulesWatching
    let limits: InputLimits
    /// The fixtures `POST /api/rules/check` runs candidates against: the gate, else data/golden.
    let checkFixtures: [String]
    /// Seconds a candidate check may take in all.
    let checkTimeout: Double
    /// Where deployed rule sets are recorded, for the fleet to pull.
    let deployments: any RulesDeploymentStore
    let audit: AuditTrail
    /// Candidate checks run one at a time: each may hold a Lua state at its memory cap.
    let checkSlot = DispatchSemaphore(value: 1)

    var routes: [Route] {
        [
            Route("GET", "/api/rules", access: .read) { request, _ in .json(status(forAdmin: request.isAdmin)) },
            Route("POST", "/api/rules/reload", access: .admin) { request, _ in
                let attempt = reloader.reload(trigger: .api)
                audit.record(request.auditEntry("rules.reload", detail: RulesRoutes.auditDetail(attempt)))
                return .json(RulesRoutes.json(attempt), status: attempt.outcome == .rejected ? 422 : 200)
            },
            Route("POST", "/api/score", access: .agent, handler: .asynchronous { request, _, respond in
                let fields = try RequestFields(request)
                let text = try fields.text("message", maximumLength: limits.messageLength)
                let user = try fields.optionalPositiveID("user_id")
                let (options, mayBlock) = scoring.options()
                try scoring.run(mayBlock: mayBlock) {
                    let (score, _, _) = scoring.score(ScoringInput(text: text, customerID: user), options: options, stored: false)
                    respond(.json(["urgency": .number(score.value), "breakdown": score.breakdown?.json ?? .null,
                                   "rules_version": .string(score.rulesVersion)]))
                }
            }),
            Route("POST", "/api/rules/check", access: .admin) { request, _ in try check(request) },
            Route("PUT", "/api/rules", access: .admin) { request, _ in try deploy(request) },
            Route("GET", "/api/rules/files", access: .admin) { _, _ in files() },
        ]
    }

    /// `GET /api/rules`. The rules directory's path and the fleet's hosts, process ids and instance ids are for
    /// admins only: they tell an outsider where and how the service runs.
    func status(forAdmin: Bool) -> JSONValue {
        let scorer = rules.scorer
        let ruleSet = scorer.ruleSet
        let counts = rules.attemptCounts
        let files: [JSONValue] = ruleSet.files.keys.sorted().map { path in
            let file = ruleSet.files[path]!
            return ["path": .string(path), "sha256": .string(file.sha256), "bytes": .integer(Int64(file.byteCount))]
        }
        var active: [String: JSONValue] = [
            "version": .string(ruleSet.version), "hash": .string(ruleSet.hash),
            "activated_at": .string(Timestamp(rules.activatedAt).isoformat), "files": .array(files),
            "fallback": .number(scorer.fallbackScore),
            "sla": scorer.responseTargets.map { targets in
                .object(Dictionary(uniqueKeysWithValues: targets.seconds.map { (String($0.key), JSONValue.number($0.value)) }))
            } ?? .null,
        ]
        var status: [String: JSONValue] = [
            "gate": .bool(reloader.gate != nil),
            "fleet": instance.fleet(identified: forAdmin),
        ]
        if forAdmin {
            active["directory"] = .string(reloader.directory)
            status["gate"] = reloader.gate.map(JSONValue.string) ?? .null
            status["instance"] = .string(instance.id)
        }
        return .object(status.merging([
            "active": .object(active),
            "last_reload": rules.lastAttempt.map(RulesRoutes.json) ?? .null,
            "attempts": .array(rules.recentAttempts.map(RulesRoutes.json)),
            "reloads": .object(Dictionary(uniqueKeysWithValues: ReloadAttempt.Outcome.allCases.map { outcome in
                (outcome.rawValue, JSONValue.integer(Int64(counts[outcome] ?? 0)))
            })),
            "watching": watching.json,
            "versions": .array(rules.history.map { record in
                [
                    "version": .string(record.version), "activated_at": .string(Timestamp(record.activatedAt).isoformat),
                    "deactivated_at": record.deactivatedAt.map { .string(Timestamp($0).isoformat) } ?? .null,
                    "evaluations": .integer(Int64(record.statistics.evaluations)),
                    "errors": .integer(Int64(record.statistics.errors)),
                ]
            }),
        ]) { mine, _ in mine })
    }

    static func json(_ attempt: ReloadAttempt) -> JSONValue {
        var object: [String: JSONValue] = [
            "trigger": .string(attempt.trigger.rawValue), "at": .string(Timestamp(attempt.startedAt).isoformat),
            "duration_ms": .number((attempt.duration * 10_000).rounded() / 10), "outcome": .string(attempt.outcome.rawValue),
            "version": attempt.candidateVersion.map(JSONValue.string) ?? .null, "error": attempt.error.map(JSONValue.string) ?? .null,
        ]
        if attempt.repeated { object["repeated"] = true }
        if let by = attempt.requestedBy { object["by"] = .string(by) }
        if let loadError = attempt.loadError {
            object["kind"] = .string(loadError.kind.rawValue)
            object["file"] = loadError.file.map(JSONValue.string) ?? .null
            object["line"] = loadError.line.map { .integer(Int64($0)) } ?? .null
        }
        if let gate = attempt.gate {
            object["gate"] = ["directory": .string(gate.directory), "passed": .integer(Int64(gate.passed)),
                              "failed": .integer(Int64(gate.failed)), "failures": .array(gate.failures.map(JSONValue.string))]
        }
        return .object(object)
    }

    /// `GET /api/rules/files`: the active version's files with their sources.
    func files() -> HTTPResponse {
        let ruleSet = rules.scorer.ruleSet
        return .json(["version": .string(ruleSet.version),
                      "files": .object(ruleSet.files.mapValues { JSONValue.string($0.source) })])
    }

    /// `PUT /api/rules`: validates the candidate like a reload (loads, scores the probe, passes the gate), then
    /// writes it over the rules directory and activates it. 422 with the attempt when it is refused: nothing on
    /// disk changes.
    func deploy(_ request: HTTPRequest) throws -> HTTPResponse {
        let files = try candidateFiles(request)
        let by = request.principal.name
        let attempt = reloader.deploy(files, by: by)
        var detail = RulesRoutes.auditDetail(attempt)
        if case .object(var fields) = detail {
            fields["files"] = .array(files.keys.sorted().map { .string($0) })
            detail = .object(fields)
        }
        audit.record(request.auditEntry("rules.deploy", detail: detail))
        guard case .object(var object) = RulesRoutes.json(attempt) else { return .error(500, "unreachable") }
        if attempt.outcome == .rejected {
            object["error"] = .string(attempt.error ?? "the rule set was refused")
            return .json(.object(object), status: 422)
        }
        // Recorded for the fleet (and the record): the other servers on a PostgreSQL database pull it.
        let deployment = RulesDeployment(version: attempt.candidateVersion ?? rules.scorer.rulesVersion,
                                         files: files.mapValues { String(decoding: $0, as: UTF8.self) }, deployedAt: Timestamp.now(),
                                         deployedBy: by, instance: instance.id)
        do {
            object["deployment"] = .integer(try deployments.recordDeployment(deployment))
        } catch {
            object["deployment_error"] = .string("active here, but not recorded for the other servers: \(error)")
        }
        return .json(.object(object))
    }

    /// What the audit trail keeps of a reload or a deploy: its outcome, the version tried, why it was refused.
    static func auditDetail(_ attempt: ReloadAttempt) -> JSONValue {
        ["outcome": .string(attempt.outcome.rawValue), "version": attempt.candidateVersion.map { .string($0) } ?? .null,
         "error": attempt.error.map { .string($0) } ?? .null]
    }

    /// `POST /api/rules/check`: the body maps file names to sources. Nothing is deployed.
    func check(_ request: HTTPRequest) throws -> HTTPResponse {
        let files = try candidateFiles(request)
        // One check at a time (others are turned away at once rather than holding worker threads), its Lua
        // states together within one state's cap, the whole of it within the check budget: a hostile
        // candidate costs bounded memory and time.
        guard checkSlot.wait(timeout: .now()) == .success else {
            throw HTTPError.busy("another rules check is running: try again when it is done", retryAfter: 2)
        }
        let deadline = Deadline(seconds: checkTimeout)
        defer {
            checkSlot.signal()
            ProcessMemory.release()
        }
        var limits = rules.scorer.limits
        limits.sharedMemory = LuaMemoryBudget(limit: limits.memoryPerState)
        let candidate = try Scorer(ruleSet: try RuleSet(files: files), limits: limits, log: DiscardingLogSink())
        return try report(candidate, deadline: deadline)
    }

    /// A candidate rule set from a request body that maps file names to sources.
    private func candidateFiles(_ request: HTTPRequest) throws -> [String: [UInt8]] {
        let document: JSONValue
        do {
            document = try JSONParser.parse(request.body)
        } catch {
            throw HTTPError.badRequest("malformed JSON body: \(error)")
        }
        guard case .object(let members) = document, !members.isEmpty else {
            throw HTTPError.badRequest("the body must map rule file names to their sources, e.g. {\"urgency.lua\": \"…\"}")
        }
        guard members.count <= RuleSet.maximumFiles else {
            throw HTTPError.badRequest("at most \(RuleSet.maximumFiles) rule files, got \(members.count)")
        }
        var files: [String: [UInt8]] = [:]
        for (name, source) in members {
            guard isRuleFileName(name) else {
                throw HTTPError.badRequest("\(name) is not a rule file name: letters, digits, _ and -, with / between folders, ending in .lua")
            }
            guard case .string(let text) = source else { throw HTTPError.badRequest("the source of \(name) must be a string") }
            files[name] = Array(text.utf8)
        }
        return files
    }

    /// The candidate's fixture results, accuracy and diff against the active version.
    private func report(_ candidate: Scorer, deadline: Deadline) throws -> HTTPResponse {
        let fixtures: [Fixture]
        do {
            fixtures = try FixtureLoader.loadAll(checkFixtures.filter { FileManager.default.fileExists(atPath: $0) })
        } catch {
            throw HTTPError.conflict("the fixtures cannot be loaded: \(error)")
        }
        guard !fixtures.isEmpty else {
            throw HTTPError.conflict("no fixtures to check against: nothing in \(checkFixtures.joined(separator: ", ")) (relative to "
                + "\(FileManager.default.currentDirectoryPath)); start the server where they are, or set RULES_GATE")
        }
        func timedOut(_ error: DeadlineExceeded) -> HTTPError {
            .unprocessable("the check \(error.description) (fixtures of \(checkFixtures.joined(separator: ", ")); CHECK_TIMEOUT)",
                           kind: "timeout")
        }
        let results: [FixtureResult]
        do throws(DeadlineExceeded) {
            results = try FixtureRunner(scorer: candidate).run(fixtures, deadline: deadline)
        } catch {
            throw timedOut(error)
        }
        let accuracy: [AccuracySet]
        do {
            accuracy = try AccuracySet.sets(in: results)
        } catch {
            throw HTTPError.conflict("the fixtures cannot be loaded: \(error)")
        }
        let report = CheckReport(results: results, rulesVersion: candidate.rulesVersion, accuracy: accuracy)
        let cases = fixtures.map { RulesDiff.Case(source: $0.location, message: $0.message, options: FixtureRunner.options(for: $0, explain: true)) }
        let diff: RulesDiff
        do throws(DeadlineExceeded) {
            diff = try RulesDiff.compare(cases, old: rules.scorer, new: candidate, deadline: deadline)
        } catch {
            throw timedOut(error)
        }
        return .json(["check": report.json(verbose: false), "diff": diff.json])
    }
}

/// A rule file's name as the API takes it (the OpenAPI document's pattern `^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*\.(lua|keywords)$`):
/// Lua files and keyword lists.
func isRuleFileName(_ name: String) -> Bool {
    guard name.hasSuffix(".lua") || name.hasSuffix(RuleSet.keywordListSuffix), name.utf8.count <= 1024 else { return false }
    return name.dropLast(name.hasSuffix(".lua") ? 4 : RuleSet.keywordListSuffix.count).split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
        !part.isEmpty && part.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F || byte == 0x2D
        }
    }
}
