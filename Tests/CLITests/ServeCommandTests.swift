import Foundation
import RulesEngine
import Synchronization
import TestSupport
import XCTest
import Support

/// `urgencyiq serve` and `import` as processes: durability across kill -9, graceful shutdown, the import report.
final class ServeCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private var database: String { directory.appendingPathComponent("tickets.db").path }

    /// Posts from `workers` threads, each until a post fails or it posted `each`; once `threshold` posts are
    /// acknowledged, calls `then` (once, from a poster's thread). The acknowledged message ids.
    private func postConcurrently(port: UInt16, workers: Int, each: Int, threshold: Int,
                                  then: @escaping @Sendable () -> Void) -> [Int64] {
        let acknowledged = Mutex<[Int64]>([])
        runConcurrently(workers) { worker in
            let client = TestHTTPClient(port: port)
            for i in 0..<each {
                guard let response = try? client.request("POST", "/api/messages/send",
                                                         json: ["user_id": .integer(Int64(worker + 1)), "message": .string("w\(worker) #\(i) when will my loan be disbursed??")]),
                      response.status == 201, let id = response.json?["message_id"]?.doubleValue else { return }
                let count = acknowledged.withLock { ids in
                    ids.append(Int64(id))
                    return ids.count
                }
                if count == threshold { then() }
            }
        }
        return acknowledged.withLock { $0 }
    }

    /// Every stored message id, following the pages.
    private func storedIDs(port: UInt16) throws -> Set<Int64> {
        let client = TestHTTPClient(port: port)
        var ids = Set<Int64>()
        var next: String? = "/api/messages?status=all&sort=time&limit=1000"
        while let path = next {
            let response = try client.request("GET", path)
            ids.formUnion((response.json?.arrayValue ?? []).compactMap { $0["id"]?.doubleValue.map(Int64.init) })
            next = response.header("link").flatMap { link in
                link.range(of: "<").flatMap { start in link.range(of: ">").map { String(link[start.upperBound..<$0.lowerBound]) } }
            }
        }
        return ids
    }

    func testAcknowledgedMessagesSurviveKillNine() throws {
        let server = try ServerProcess(database: database)
        let port = server.port
        let pid = server.process.processIdentifier
        let acknowledged = postConcurrently(port: port, workers: 8, each: 2000, threshold: 300) { kill(pid, SIGKILL) }
        server.process.waitUntilExit()
        XCTAssertEqual(server.process.terminationReason, .uncaughtSignal)
        XCTAssertGreaterThan(acknowledged.count, 0)
        let restarted = try ServerProcess(database: database)
        defer { restarted.stop() }
        let stored = try storedIDs(port: restarted.port)
        XCTAssertEqual(Set(acknowledged).subtracting(stored), [], "acknowledged but lost after kill -9")
    }

    func testSigtermFinishesRequestsInFlightAndClosesCleanly() throws {
        let server = try ServerProcess(database: database)
        let port = server.port
        let pid = server.process.processIdentifier
        let acknowledged = postConcurrently(port: port, workers: 8, each: 2000, threshold: 300) { kill(pid, SIGTERM) }
        server.process.waitUntilExit()
        XCTAssertEqual(server.process.terminationStatus, 0)
        XCTAssertTrue(server.remainingErrors().contains("urgencyiq: stopped"))
        let restarted = try ServerProcess(database: database)
        defer { restarted.stop() }
        XCTAssertEqual(Set(acknowledged).subtracting(try storedIDs(port: restarted.port)), [])
    }

    func testImportReportsAndIsIdempotent() throws {
        let file = directory.appendingPathComponent("seed.csv").path
        try Data("User ID,Timestamp (UTC),Message Body\n7,2025-01-15 10:30:00,Why was my loan rejected?\nx,2025-01-15 10:31:00,bad id\n8,not a time,bad time\n9,2025-01-15 10:32:00,\"  \"\n7,2025-01-15 10:33:00,\"thanks, got it\"\n".utf8)
            .write(to: URL(fileURLWithPath: file))
        let first = try CommandRunner.run(["import", "--db", database, "--env-file", "/nonexistent", file])
        XCTAssertEqual(first.status, 0, first.errors)
        XCTAssertEqual(first.output, "import: 5 rows, 2 messages and 1 customers added, 0 already present, 3 skipped (rules \(try rulesVersion()))\n")
        XCTAssertTrue(first.errors.contains("\(file):3: skipped: User ID must be a positive integer, got 'x'"), first.errors)
        XCTAssertTrue(first.errors.contains("\(file):4: skipped: unreadable timestamp 'not a time'"), first.errors)
        XCTAssertTrue(first.errors.contains("\(file):5: skipped: empty message body"), first.errors)
        let second = try CommandRunner.run(["import", "--db", database, "--env-file", "/nonexistent", file])
        XCTAssertTrue(second.output.hasPrefix("import: 5 rows, 0 messages and 0 customers added, 2 already present"), second.output)
        let missing = try CommandRunner.run(["import", "--db", database, "--env-file", "/nonexistent", "/nonexistent.csv"])
        XCTAssertEqual(missing.status, 2)
    }

    func testSIGHUPReloadsTheRules() throws {
        let rules = directory.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        let entry = rules.appendingPathComponent("urgency.lua")
        try Data("function score(message, ctx) return 2 end\n".utf8).write(to: entry)
        let server = try ServerProcess(database: database, extraArguments: ["--rules", rules.path, "--no-watch"])
        defer { server.stop() }
        let client = TestHTTPClient(port: server.port)
        func score() throws -> Double? {
            try client.request("POST", "/api/score", json: ["message": "hello"]).json?["urgency"]?.doubleValue
        }
        XCTAssertEqual(try score(), 2)
        XCTAssertEqual(try client.request("GET", "/api/rules").json?["watching"], ["inotify": false, "poll_seconds": .null],
                       "--no-watch: a file change alone does not reload")
        try Data("function score(message, ctx) return 4 end\n".utf8).write(to: entry)
        kill(server.process.processIdentifier, SIGHUP)
        try waitUntil("SIGHUP to reload") { try score() == 4 }
        XCTAssertEqual(try client.request("GET", "/api/rules").json?["last_reload"]?["trigger"], "SIGHUP")
    }

    func testRulesThatFailTheGateRefuseToStart() throws {
        let rules = directory.appendingPathComponent("rules"), gate = directory.appendingPathComponent("gate")
        for folder in [rules, gate] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try Data("function score(message, ctx) return 4 end\n".utf8).write(to: rules.appendingPathComponent("urgency.lua"))
        try Data("message,expected\nhello,2\nurgent,3.5..5\n".utf8).write(to: gate.appendingPathComponent("gate.csv"))
        let refused = try CommandRunner.run(["serve", "--port", "0", "--db", database, "--env-file", "/nonexistent",
                                             "--rules", rules.path, "--gate", gate.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.errors.contains("do not pass the gate: the gate refused the rules: 1 of 2 fixtures fail"), refused.errors)
        XCTAssertTrue(refused.errors.contains("gate.csv:2: expected 2.0, got 4.0"), refused.errors)
        XCTAssertFalse(refused.errors.contains("serving on"), refused.errors)

        try Data("message,expected\nhello,4\n".utf8).write(to: gate.appendingPathComponent("gate.csv"))
        let server = try ServerProcess(database: database, extraArguments: ["--rules", rules.path, "--gate", gate.path])
        XCTAssertEqual(server.stop(), 0)
    }

    func testAPortInUseIsAnErrorUnlessSharingIsAskedFor() throws {
        let first = try ServerProcess(database: database)
        defer { first.stop() }
        let second = try CommandRunner.run(["serve", "--port", String(first.port), "--db", database + "-2", "--env-file", "/nonexistent"])
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.errors.contains("cannot listen on 127.0.0.1:\(first.port): address already in use"), second.errors)

        // A port whose last server just stopped, with its closed connections in TIME-WAIT, can be used at once.
        let restarted = try ServerProcess(database: database + "-5")
        let port = restarted.port
        for _ in 0..<5 {  // the server closes these first, so their TIME-WAIT is on its side
            XCTAssertEqual(try TestHTTPClient(port: port).request("GET", "/api/health", headers: ["Connection": "close"]).status, 200)
        }
        XCTAssertEqual(restarted.stop(), 0)
        let again = try ServerProcess(database: database + "-5", extraArguments: ["--port", String(port)])
        XCTAssertEqual(again.port, port)
        XCTAssertEqual(again.stop(), 0)

        // With --reuse-port on both, two servers share one port (a new one can start before the old one stops).
        let shared = try ServerProcess(database: database + "-3", extraArguments: ["--reuse-port"])
        defer { shared.stop() }
        let partner = try ServerProcess(database: database + "-4", extraArguments: ["--reuse-port", "--port", String(shared.port)])
        XCTAssertEqual(partner.port, shared.port)
        XCTAssertEqual(partner.stop(), 0)
    }

    func testRescoreReportsWhatChanged() throws {
        let file = directory.appendingPathComponent("seed.csv").path
        try Data("User ID,Timestamp (UTC),Message Body\n7,2025-01-15 10:30:00,Why was my loan rejected?\n8,2025-01-15 10:31:00,thanks a lot\n".utf8)
            .write(to: URL(fileURLWithPath: file))
        let imported = try CommandRunner.run(["import", "--db", database, "--env-file", "/nonexistent", file])
        XCTAssertEqual(imported.status, 0, imported.errors)
        let rules = directory.appendingPathComponent("rules")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        try Data("function score(message, ctx) return 5 end\n".utf8).write(to: rules.appendingPathComponent("urgency.lua"))
        let version = try RuleSet.load(from: rules.path).version
        let rescored = try CommandRunner.run(["rescore", "--db", database, "--env-file", "/nonexistent", "--rules", rules.path])
        XCTAssertEqual(rescored.status, 0, rescored.errors)
        // "Why was my loan rejected?" scores 4.03 with the default rules, "thanks a lot" 1: both go up to 5.
        XCTAssertEqual(rescored.output, "rescore: 2 open messages scored with rules \(version): 2 changed (2 up, 0 down, mean shift 2.485), 0 rule failures\n")
        let again = try CommandRunner.run(["rescore", "--db", database, "--env-file", "/nonexistent", "--rules", rules.path, "--status", "all"])
        XCTAssertTrue(again.output.hasPrefix("rescore: 2 all messages scored with rules \(version): 0 changed"), again.output)
        let bad = try CommandRunner.run(["rescore", "--db", database, "--env-file", "/nonexistent", "--status", "closed"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.errors.contains("--status must be open, resolved or all"), bad.errors)
    }

    private func rulesVersion() throws -> String {
        let json = try CommandRunner.run(["score", "--json", "x"])
        return (try? JSONParser.parse(json.output))?["rules_version"]?.stringValue ?? "?"
    }
}
