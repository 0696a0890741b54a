import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport

/// The server's own limits on rule checks: a candidate check and a reload's gate have a total time budget,
/// candidate checks run one at a time, and the work pool lets go of what a finished job held.
final class RulesCheckLimitsTests: XCTestCase {
    private var directory: URL!
    private var server: TestServer?

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-limits-\(UUID().uuidString)")
        for folder in ["rules", "fixtures"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try write("function score(message, ctx) return 2 end\n", to: "rules/urgency.lua")
        var csv = "message,expected\n"
        for index in 0..<300 { csv += "message number \(index),2\n" }
        try write(csv, to: "fixtures/cases.csv")
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: directory.appendingPathComponent(path))
    }

    private func start(_ configure: @escaping (inout ServerConfiguration) -> Void) throws -> TestHTTPClient {
        let rules = directory.appendingPathComponent("rules").path
        let started = try TestServer { configuration in
            configuration.rulesDirectory = rules
            configuration.watchRules = false
            configure(&configuration)
        }
        server = started
        return started.client()
    }

    /// Rules that stay just under the per-message instruction budget on every message.
    static let slow = "function score(message, ctx)\n  local n = 0\n  for i = 1, 3e6 do n = n + i end\n  return 2\nend\n"

    func testACandidateCheckHasATotalTimeBudget() throws {
        let fixtures = directory.appendingPathComponent("fixtures").path
        let client = try start {
            $0.checkFixtures = [fixtures]
            $0.checkTimeout = 1
        }
        let slow = try client.request("POST", "/api/rules/check", json: ["urgency.lua": .string(Self.slow)])
        XCTAssertEqual(slow.status, 422, slow.text)
        XCTAssertEqual(slow.json?["kind"], "timeout")
        let error = try XCTUnwrap(slow.json?["error"]?.stringValue)
        XCTAssertTrue(error.hasPrefix("the check ran out of time: ") && error.contains("of 300 scored within the 1 s budget"), error)
        // The slot is free again, and a quick candidate is checked in full.
        let quick = try client.request("POST", "/api/rules/check", json: ["urgency.lua": "function score() return 2 end"])
        XCTAssertEqual(quick.status, 200, quick.text)
        XCTAssertEqual(quick.json?["check"]?["passed"]?.doubleValue, 300)
    }

    func testAReloadsGateHasTheSameBudget() throws {
        let fixtures = directory.appendingPathComponent("fixtures").path
        let client = try start {
            $0.rulesGate = fixtures
            $0.checkTimeout = 1
        }
        try write(Self.slow, to: "rules/urgency.lua")
        let refused = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(refused.status, 422, refused.text)
        XCTAssertEqual(refused.json?["outcome"], "rejected")
        let error = try XCTUnwrap(refused.json?["error"]?.stringValue)
        XCTAssertTrue(error.hasPrefix("the gate ran out of time: ") && error.contains("of 300 scored within the 1 s budget"), error)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hi"]).json?["urgency"]?.doubleValue, 2)
    }

    func testCandidateChecksRunOneAtATime() throws {
        let fixtures = directory.appendingPathComponent("fixtures").path
        let port = try start {
            $0.checkFixtures = [fixtures]
            $0.checkTimeout = 30
        }.port
        let statuses = Mutex<[Int]>([])
        let retryAfter = Mutex<Set<String>>([])
        runConcurrently(6) { _ in
            guard let response = try? TestHTTPClient(port: port).request("POST", "/api/rules/check",
                                                                         json: ["urgency.lua": .string(Self.slow)]) else { return }
            statuses.withLock { $0.append(response.status) }
            if response.status == 503 { retryAfter.withLock { _ = $0.insert(response.header("retry-after") ?? "none") } }
        }
        let seen = statuses.withLock { $0 }
        XCTAssertEqual(seen.count, 6)
        XCTAssertGreaterThanOrEqual(seen.filter { $0 == 200 }.count, 1, "\(seen)")
        XCTAssertGreaterThanOrEqual(seen.filter { $0 == 503 }.count, 1, "the others are turned away while one runs: \(seen)")
        XCTAssertEqual(Set(seen), [200, 503])
        XCTAssertEqual(retryAfter.withLock { $0 }, ["2"])
    }

    func testTheWorkPoolLetsGoOfAJobOnceItHasRun() throws {
        final class Flag: Sendable { let isSet = Atomic<Bool>(false) }
        final class Payload: Sendable {
            let released: Flag
            init(_ released: Flag) { self.released = released }
            deinit { released.isSet.store(true, ordering: .releasing) }
        }
        let pool = WorkerPool(threads: 2, queueLimit: 16, name: "test-pool")
        defer { pool.stop() }
        let released = Flag(), ran = Flag()
        do {
            let payload = Payload(released)
            XCTAssertTrue(pool.submit { _ = payload; ran.isSet.store(true, ordering: .releasing) })
        }
        try waitUntil("the job to run") { ran.isSet.load(ordering: .acquiring) }
        // Before the fix the queue's storage kept every job (and the listing it answered) until it compacted.
        try waitUntil("what the job captured to be released") { released.isSet.load(ordering: .acquiring) }
    }
}
