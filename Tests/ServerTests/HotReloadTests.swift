import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// Rule changes under a running server: edits go live within a second, broken or failing rule sets never
/// replace a good one, and `GET /api/rules` says what happened.
final class HotReloadTests: XCTestCase {
    private var rules: URL!
    private var server: TestServer?
    private var client: TestHTTPClient!

    override func setUpWithError() throws {
        rules = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try write(HotReloadTests.constant(2))
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(at: rules)
    }

    /// Rules whose score() returns `value` for every message.
    static func constant(_ value: Double, comment: String = "") -> String {
        "-- \(comment)\nfallback = 1.5\nfunction score(message, ctx)\n  return \(value)\nend\n"
    }

    /// The version the engine gives a rules directory holding `files`.
    static func version(_ files: [String: String]) throws -> String {
        try RuleSet(files: files.mapValues { Array($0.utf8) }).version
    }

    private func start(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        let directory = rules.path
        server = try TestServer { configuration in
            configuration.rulesDirectory = directory
            configure(&configuration)
        }
        client = server?.client()
    }

    private func write(_ source: String, to name: String = "urgency.lua") throws {
        try Data(source.utf8).write(to: rules.appendingPathComponent(name))
    }

    private func rulesStatus() throws -> JSONValue {
        let response = try client.request("GET", "/api/rules")
        XCTAssertEqual(response.status, 200, response.text)
        return try XCTUnwrap(response.json)
    }

    /// The dry-run score of `text`: (urgency, rules version).
    private func dryRun(_ text: String = "hello") throws -> (urgency: Double?, version: String?) {
        let response = try client.request("POST", "/api/score", json: ["message": .string(text)])
        XCTAssertEqual(response.status, 200, response.text)
        return (response.json?["urgency"]?.doubleValue, response.json?["rules_version"]?.stringValue)
    }

    /// Waits until the last reload attempt looked at `version` (nil: any) and ended in `outcome`, with an error
    /// containing `error` when given; that attempt. (Waits for what the attempt says, never for a number of
    /// attempts: one save may raise several file events.)
    @discardableResult
    private func waitForAttempt(_ outcome: String, version: String?, error: String? = nil) throws -> JSONValue {
        var attempt: JSONValue = .null
        try waitUntil("a reload attempt \(outcome) for \(version ?? "any version")\(error.map { " saying \($0)" } ?? "")") {
            attempt = try rulesStatus()["last_reload"] ?? .null
            guard attempt["outcome"]?.stringValue == outcome else { return false }
            if let version, attempt["version"]?.stringValue != version { return false }
            if let error, !(attempt["error"]?.stringValue?.contains(error) ?? false) { return false }
            return true
        }
        return attempt
    }

    private func assertServing(_ urgency: Double, version: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let score = try dryRun()
        XCTAssertEqual(score.urgency, urgency, file: file, line: line)
        XCTAssertEqual(score.version, version, file: file, line: line)
        XCTAssertEqual(try rulesStatus()["active"]?["version"]?.stringValue, version, file: file, line: line)
    }

    func testAnEditGoesLiveWithinASecond() throws {
        try start()
        let first = try HotReloadTests.version(["urgency.lua": HotReloadTests.constant(2)])
        try assertServing(2, version: first)

        let edited = HotReloadTests.constant(4)
        try write(edited)
        try waitUntil("the edit to serve") { try dryRun().urgency == 4 }  // how fast: `urgencyiq bench --reload`
        let second = try HotReloadTests.version(["urgency.lua": edited])
        try assertServing(4, version: second)
        let status = try rulesStatus()
        XCTAssertEqual(status["last_reload"]?["outcome"], "activated")
        XCTAssertEqual(status["last_reload"]?["trigger"], "file change")
        XCTAssertEqual(status["reloads"]?["activated"]?.doubleValue, 1)
        let versions = try XCTUnwrap(status["versions"]?.arrayValue)
        XCTAssertEqual(versions.map { $0["version"]?.stringValue }, [second, first])
        XCTAssertEqual(versions[0]["deactivated_at"], .null)
        XCTAssertNotNil(versions[1]["deactivated_at"]?.stringValue)
        XCTAssertEqual(status["active"]?["files"]?.arrayValue?.first?["path"], "urgency.lua")
        XCTAssertEqual(status["active"]?["fallback"]?.doubleValue, 1.5)
    }

    func testEditorRenamesNewFilesAndRequiredModulesAllReload() throws {
        try start()
        // An editor's save: write a temporary file, rename it into place.
        let temporary = rules.appendingPathComponent(".urgency.lua.swp")
        try Data(HotReloadTests.constant(3).utf8).write(to: temporary)
        XCTAssertEqual(rename(temporary.path, rules.appendingPathComponent("urgency.lua").path), 0)
        try waitUntil("the renamed file to serve") { try dryRun().urgency == 3 }

        // A new module, then the entry file that requires it (as a git checkout writes them).
        try write("return { base = 1 }\n", to: "tiers.lua")
        try write("local tiers = require('tiers')\nfunction score(message, ctx)\n  return tiers.base\nend\n")
        try waitUntil("the new module to serve") { try dryRun().urgency == 1 }

        // Changing only the required module is a new version too.
        try write("return { base = 5 }\n", to: "tiers.lua")
        try waitUntil("the module change to serve") { try dryRun().urgency == 5 }
        let serving = try XCTUnwrap(try dryRun().version)

        // Deleting the module breaks the entry file: rejected, the last good version keeps serving.
        try FileManager.default.removeItem(at: rules.appendingPathComponent("tiers.lua"))
        try waitForAttempt("rejected", version: nil, error: "module 'tiers' not found")
        try assertServing(5, version: serving)
    }

    func testBrokenRuleSetsNeverReplaceAGoodOne() throws {
        try start()
        let good = try HotReloadTests.version(["urgency.lua": HotReloadTests.constant(2)])
        let broken: [(name: String, source: String, error: String)] = [
            ("syntax error", "function score(message, ctx)\n  return 4 +\nend\n", "urgency.lua:3: syntax error"),
            ("score() raises", "function score(message, ctx)\n  error('rule exploded')\nend\n", "urgency.lua:2: scoring the probe message failed: rule exploded"),
            ("endless loop", "function score(message, ctx)\n  while true do end\nend\n", "instruction budget exceeded"),
            ("endless loop while loading", "while true do end\nfunction score() return 1 end\n", "instruction budget exceeded"),
            ("unbounded allocation", "function score(message, ctx)\n  local t = {}\n  for i = 1, 1e9 do t[i] = string.rep('x', 100) .. i end\nend\n",
             "memory cap"),
            ("NaN", "function score(message, ctx)\n  return 0/0\nend\n", "finite number"),
            ("a string", "function score(message, ctx)\n  return 'high'\nend\n", "must return a number, it returned a string"),
            ("no score()", "tiers = {}\n", "score"),
            ("bad fallback", "fallback = 'x'\nfunction score() return 1 end\n", "fallback must be a finite number"),
        ]
        for (name, source, error) in broken {
            try write(source)
            let attempt = try waitForAttempt("rejected", version: try HotReloadTests.version(["urgency.lua": source]))
            XCTAssertTrue(attempt["error"]?.stringValue?.contains(error) ?? false, "\(name): \(attempt)")
            try assertServing(2, version: good)
        }

        // A scratch file that does not compile, required by nothing, still refuses the whole set.
        try write(HotReloadTests.constant(3))
        try write("x = \n", to: "scratch.lua")
        try waitForAttempt("rejected", version: nil, error: "scratch.lua:2: syntax error")
        try assertServing(2, version: good)
        try FileManager.default.removeItem(at: rules.appendingPathComponent("scratch.lua"))
        try waitUntil("the set without the scratch file to serve") { try dryRun().urgency == 3 }
        try write(HotReloadTests.constant(2))
        try waitUntil("the good version to serve again") { try dryRun().urgency == 2 }

        // Deleted: nothing to load, the last good version keeps serving.
        try FileManager.default.removeItem(at: rules.appendingPathComponent("urgency.lua"))
        try waitForAttempt("rejected", version: nil, error: "no urgency.lua")
        try assertServing(2, version: good)

        // Half a file, then the rest: the half is rejected, the whole goes live.
        let whole = "function score(message, ctx)\n  local base = 7\n  return base\nend\n"
        let path = rules.appendingPathComponent("urgency.lua").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        let half = whole.utf8.count / 2
        handle.write(Data(whole.utf8.prefix(half)))
        try waitForAttempt("rejected", version: try HotReloadTests.version(["urgency.lua": String(decoding: whole.utf8.prefix(half), as: UTF8.self)]))
        try assertServing(2, version: good)
        handle.write(Data(whole.utf8.dropFirst(half)))
        try handle.close()
        try waitForAttempt("activated", version: try HotReloadTests.version(["urgency.lua": whole]))
        try assertServing(7, version: try HotReloadTests.version(["urgency.lua": whole]))

        let status = try rulesStatus()
        XCTAssertGreaterThanOrEqual(status["reloads"]?["rejected"]?.doubleValue ?? 0, Double(broken.count + 2))
        XCTAssertEqual(status["reloads"]?["activated"]?.doubleValue, 3, "3 without the scratch file, 2 again, then 7")
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200)
    }

    func testTheRulesDirectoryRemovedAndRecreatedIsWatchedAgain() throws {
        try start()
        try FileManager.default.removeItem(at: rules)
        try waitForAttempt("rejected", version: nil, error: "rules directory not found")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try write(HotReloadTests.constant(4.5))
        try waitUntil("the recreated directory to serve") { try dryRun().urgency == 4.5 }
    }

    func testRunTimeFaultsStoreTheMessageWithTheFallbackScore() throws {
        try write("""
        fallback = 1.5
        function score(message, ctx)
          local text = message.text
          if text == 'boom' then error('exploded on purpose') end
          if text == 'loop' then while true do end end
          if text == 'hog' then local t = {} for i = 1, 1e9 do t[i] = string.rep('y', 100) .. i end end
          if text == 'nan' then return 0/0 end
          if text == 'word' then return 'urgent' end
          return 2
        end
        """)
        try start()
        let expectedErrors = ["boom": "urgency.lua:4: exploded on purpose", "loop": "instruction budget exceeded",
                              "hog": "memory cap", "nan": "finite number", "word": "must return a number, it returned a string"]
        for (text, error) in expectedErrors.sorted(by: { $0.key < $1.key }) {
            let response = try client.request("POST", "/api/messages/send", json: ["user_id": 7, "message": .string(text)])
            XCTAssertEqual(response.status, 201, response.text)
            XCTAssertEqual(response.json?["urgency"], 1.5, text)
            let id = try XCTUnwrap(response.json?["message_id"]?.doubleValue)
            let stored = try client.request("GET", "/api/messages/\(Int(id))")
            XCTAssertEqual(stored.json?["urgency"]?.doubleValue, 1.5)
            XCTAssertEqual(stored.json?["breakdown"]?["fallback"], true)
            XCTAssertTrue(stored.json?["breakdown"]?["error"]?.stringValue?.contains(error) ?? false, "\(text): \(stored.text)")
        }
        // The states that hit a limit were replaced: ordinary messages still score.
        let ordinary = try client.request("POST", "/api/messages/send", json: ["user_id": 7, "message": "hello"])
        XCTAssertEqual(ordinary.json?["urgency"]?.doubleValue, 2)
        let versions = try XCTUnwrap(try rulesStatus()["versions"]?.arrayValue)
        XCTAssertEqual(versions.first?["evaluations"]?.doubleValue, 6)
        XCTAssertEqual(versions.first?["errors"]?.doubleValue, 5)
        XCTAssertEqual(try client.request("GET", "/api/messages?status=all").header("x-total-count"), "6")
    }

    func testPollingFindsChangesWithoutFileEvents() throws {
        try start { configuration in
            configuration.watchRules = false
            configuration.watchPoll = 0.2
        }
        XCTAssertEqual(try rulesStatus()["watching"]?["inotify"], false)
        try write(HotReloadTests.constant(4))
        try waitUntil("the polled change to serve") { try dryRun().urgency == 4 }
    }

    func testReloadOnRequestAndTheGoldenFixtureGate() throws {
        let gate = rules.deletingLastPathComponent().appendingPathComponent("uiq-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: gate, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: gate) }
        try Data("message,expected\nhello,2\nurgent,1.5..2.5\n".utf8).write(to: gate.appendingPathComponent("gate.csv"))
        try start { configuration in
            configuration.watchRules = false
            configuration.rulesGate = gate.path
        }
        let good = try HotReloadTests.version(["urgency.lua": HotReloadTests.constant(2)])
        XCTAssertEqual(try rulesStatus()["watching"], ["inotify": false, "poll_seconds": .null])
        try write(HotReloadTests.constant(4))
        try assertServing(2, version: good)  // not watching: nothing happens until asked

        let refused = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(refused.status, 422, refused.text)
        XCTAssertEqual(refused.json?["outcome"], "rejected")
        XCTAssertEqual(refused.json?["trigger"], "api")
        XCTAssertEqual(refused.json?["gate"]?["failed"]?.doubleValue, 2)
        XCTAssertEqual(refused.json?["gate"]?["passed"]?.doubleValue, 0)
        let failure = try XCTUnwrap(refused.json?["gate"]?["failures"]?.arrayValue?.first?.stringValue)
        XCTAssertTrue(failure.contains("gate.csv:2") && failure.contains("expected 2.0, got 4.0"), failure)
        try assertServing(2, version: good)
        XCTAssertEqual(try rulesStatus()["gate"]?.stringValue, gate.path)

        let tweaked = HotReloadTests.constant(2, comment: "same scores, new comment")
        try write(tweaked)
        let accepted = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(accepted.status, 200, accepted.text)
        XCTAssertEqual(accepted.json?["outcome"], "activated")
        XCTAssertEqual(accepted.json?["gate"]?["passed"]?.doubleValue, 2)
        try assertServing(2, version: try HotReloadTests.version(["urgency.lua": tweaked]))

        let again = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(again.json?["outcome"], "unchanged")
    }

    func testDryRunScoresWithTheActiveRulesAndStoresNothing() throws {
        try start { $0.rulesDirectory = TestServer.repository.appendingPathComponent("rules").path }
        let response = try client.request("POST", "/api/score", json: ["message": "Why was my loan rejected?", "user_id": "12"])
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json?["urgency"]?.doubleValue, 4.03, "the default profile: a loan rejected (4), asking why (+0.03)")
        XCTAssertEqual(response.json?["rules_version"]?.stringValue, try rulesStatus()["active"]?["version"]?.stringValue)
        XCTAssertEqual(response.json?["breakdown"]?["intent"]?["name"], "loan rejected", response.text)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "  "]).status, 400)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hi", "user_id": "abc"]).status, 400)
        XCTAssertEqual(try client.request("POST", "/api/score", body: Array("{\"message\":".utf8),
                                          headers: ["Content-Type": "application/json"]).status, 400)
        XCTAssertEqual(try client.request("GET", "/api/messages?status=all").header("x-total-count"), "0")
        XCTAssertEqual(try rulesStatus()["versions"]?.arrayValue?.first?["evaluations"]?.doubleValue, 1)
    }

    func testCheckingACandidateDiffsItAndDeploysNothing() throws {
        let fixtures = rules.deletingLastPathComponent().appendingPathComponent("uiq-fixtures-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: fixtures, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: fixtures) }
        try Data("message,expected\nhello,2\nurgent,4\n".utf8).write(to: fixtures.appendingPathComponent("cases.csv"))
        try start { $0.checkFixtures = [fixtures.path] }
        let active = try HotReloadTests.version(["urgency.lua": HotReloadTests.constant(2)])

        let candidate = "function score(message, ctx)\n  if message.text:find('urgent') then return 4 end\n  return 3\nend\n"
        let response = try client.request("POST", "/api/rules/check", json: ["urgency.lua": .string(candidate)])
        XCTAssertEqual(response.status, 200, response.text)
        let check = try XCTUnwrap(response.json?["check"])
        XCTAssertEqual(check["passed"]?.doubleValue, 1)
        XCTAssertEqual(check["failed"]?.doubleValue, 1)
        XCTAssertEqual(check["failures"]?.arrayValue?.first?["message"], "hello")
        XCTAssertEqual(check["failures"]?.arrayValue?.first?["got"]?.doubleValue, 3)
        let diff = try XCTUnwrap(response.json?["diff"])
        XCTAssertEqual(diff["old_version"]?.stringValue, active)
        XCTAssertEqual(diff["new_version"]?.stringValue, try HotReloadTests.version(["urgency.lua": candidate]))
        XCTAssertEqual(diff["total"]?.doubleValue, 2)
        XCTAssertEqual(diff["changed"]?.doubleValue, 2)
        XCTAssertEqual(diff["mean_shift"]?.doubleValue, 1.5)
        try assertServing(2, version: active)

        let broken = try client.request("POST", "/api/rules/check", json: ["urgency.lua": "function score(m)\n return 1 +\nend"])
        XCTAssertEqual(broken.status, 422, broken.text)
        XCTAssertEqual(broken.json?["file"], "urgency.lua")
        XCTAssertEqual(broken.json?["line"]?.doubleValue, 3)
        XCTAssertEqual(broken.json?["kind"], "syntax")
        let escaping = try client.request("POST", "/api/rules/check", json: ["../../etc/urgency.lua": "function score() return 1 end"])
        XCTAssertEqual(escaping.status, 400, escaping.text)
        XCTAssertEqual(try client.request("POST", "/api/rules/check", json: ["urgency.lua": 5]).status, 400)
        XCTAssertEqual(try client.request("POST", "/api/rules/check", json: ["a", "b"]).status, 400)
        XCTAssertEqual(try client.request("POST", "/api/rules/check", json: [:]).status, 400)
        try assertServing(2, version: active)
    }

    func testRescoreAppliesTheActiveRulesToStoredMessages() throws {
        try start()
        var ids: [Int64] = []
        for text in ["one", "two", "three"] {
            let response = try client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": .string(text)])
            ids.append(Int64(try XCTUnwrap(response.json?["message_id"]?.doubleValue)))
        }
        XCTAssertEqual(try client.request("POST", "/api/messages/\(ids[2])/resolve").status, 200)
        let edited = HotReloadTests.constant(4)
        try write(edited)
        try waitUntil("the edit to serve") { try dryRun().urgency == 4 }
        let newVersion = try HotReloadTests.version(["urgency.lua": edited])

        let open = try client.request("POST", "/admin/rescore", json: [:])
        XCTAssertEqual(open.status, 200, open.text)
        XCTAssertEqual(open.json?["messages"]?.doubleValue, 2)
        XCTAssertEqual(open.json?["changed"]?.doubleValue, 2)
        XCTAssertEqual(open.json?["increased"]?.doubleValue, 2)
        XCTAssertEqual(open.json?["mean_shift"]?.doubleValue, 2)
        XCTAssertEqual(open.json?["rules_version"]?.stringValue, newVersion)
        for id in ids.prefix(2) {
            let stored = try client.request("GET", "/api/messages/\(id)")
            XCTAssertEqual(stored.json?["urgency"]?.doubleValue, 4)
            XCTAssertEqual(stored.json?["rules_version"]?.stringValue, newVersion)
            XCTAssertEqual(stored.json?["breakdown"]?["rules_version"]?.stringValue, newVersion)
        }
        XCTAssertEqual(try client.request("GET", "/api/messages/\(ids[2])").json?["urgency"]?.doubleValue, 2)

        let all = try client.request("POST", "/admin/rescore", json: ["status": "all"])
        XCTAssertEqual(all.json?["messages"]?.doubleValue, 3)
        XCTAssertEqual(all.json?["changed"]?.doubleValue, 1)
        XCTAssertEqual(try client.request("GET", "/api/messages/\(ids[2])").json?["urgency"]?.doubleValue, 4)
        XCTAssertEqual(try client.request("POST", "/admin/rescore", json: ["status": "bogus"]).status, 400)
    }

    func testFiftyRewritesUnderLoadLoseNoRequestAndMixNoVersions() throws {
        try start()
        var valueOfVersion = [try HotReloadTests.version(["urgency.lua": HotReloadTests.constant(2)]): 2.0]
        let stop = Atomic<Bool>(false)
        let posted = Mutex<[(id: Int64, urgency: Double)]>([])
        let failures = Mutex<[String]>([])
        let port = server!.port
        let posters = DispatchGroup()
        for worker in 0..<6 {
            DispatchQueue.global().async(group: posters) {
                let client = TestHTTPClient(port: port)
                var count = 0
                while !stop.load(ordering: .relaxed) {
                    count += 1
                    do {
                        let response = try client.request("POST", "/api/messages/send",
                                                          json: ["user_id": .integer(Int64(worker + 1)), "message": .string("load \(worker) #\(count)")])
                        guard response.status == 201, let id = response.json?["message_id"]?.doubleValue,
                              let urgency = response.json?["urgency"]?.doubleValue else {
                            failures.withLock { $0.append("\(response.status) \(response.text)") }
                            continue
                        }
                        posted.withLock { $0.append((Int64(id), urgency)) }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        for rewrite in 1...50 {
            let value = 1 + Double(rewrite) / 100
            let source = HotReloadTests.constant(value, comment: "rewrite \(rewrite)")
            valueOfVersion[try HotReloadTests.version(["urgency.lua": source])] = value
            try write(source)
            usleep(UInt32.random(in: 20_000...200_000))
        }
        try waitUntil("the last rewrite to serve") { try dryRun().urgency == 1.5 }
        stop.store(true, ordering: .relaxed)
        posters.wait()

        XCTAssertEqual(failures.withLock { $0 }, [])
        let messages = posted.withLock { $0 }
        XCTAssertGreaterThan(messages.count, 100)
        let history = try XCTUnwrap(try rulesStatus()["versions"]?.arrayValue)
        var activatedAt: [String: String] = [:]
        for record in history {
            if let version = record["version"]?.stringValue, let at = record["activated_at"]?.stringValue { activatedAt[version] = at }
        }
        XCTAssertGreaterThan(activatedAt.count, 5, "few rewrites went live: \(history)")
        var versionsSeen = Set<String>()
        let store = try XCTUnwrap(server?.server.store)
        for (id, urgency) in messages {
            let stored = try XCTUnwrap(try store.message(id: id), "message \(id) acknowledged but not stored")
            let version = try XCTUnwrap(stored.rulesVersion)
            versionsSeen.insert(version)
            // Scored by exactly one version, and that version's rules: value and version agree.
            XCTAssertEqual(valueOfVersion[version], urgency, "message \(id) says \(version)")
            XCTAssertEqual(stored.urgency, urgency)
            XCTAssertEqual(stored.breakdown?["rules_version"]?.stringValue, version)
            // That version was active: it was activated before the message was stored.
            let activated = try XCTUnwrap(activatedAt[version], "message \(id): \(version) never served")
            XCTAssertLessThanOrEqual(activated, stored.createdAt.isoformat)
        }
        XCTAssertGreaterThan(versionsSeen.count, 3)
        XCTAssertEqual(try client.request("GET", "/api/messages?status=all").header("x-total-count"), String(messages.count))
    }
}
