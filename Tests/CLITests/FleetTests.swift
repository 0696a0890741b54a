import Foundation
import RulesEngine
import Synchronization
import TestSupport
import XCTest

/// Two `urgencyiq serve` processes on one PostgreSQL database behave as one service.
final class FleetTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func testTwoServersOnOneDatabaseLoseNothingAndAgree() throws {
        let url = try PostgresTestServer.shared().database()
        // The second server runs other rules, as in the middle of a rollout.
        let rules = directory.appendingPathComponent("rules")
        try FileManager.default.copyItem(at: CommandRunner.repository.appendingPathComponent("rules"), to: rules)
        let entry = rules.appendingPathComponent("urgency.lua")
        try Data((try String(contentsOf: entry, encoding: .utf8) + "\n-- rollout 2\n").utf8).write(to: entry)
        let first = try ServerProcess(database: url)
        defer { first.stop() }
        let second = try ServerProcess(database: url, extraArguments: ["--rules", rules.path])
        defer { second.stop() }
        let ports = [first.port, second.port]

        // Many threads, alternating servers: new messages, then replies and assignments on shared messages.
        let target = try TestHTTPClient(port: ports[0]).request("POST", "/api/messages/send", json: ["user_id": 1, "message": "shared ticket"])
        let targetID = Int64(try XCTUnwrap(target.json?["message_id"]?.doubleValue))
        let acknowledged = Mutex<[Int64]>([targetID])
        let replies = Atomic<Int>(0)
        let lastAssigned = Mutex<[String]>([])
        let failures = Mutex<[String]>([])
        runConcurrently(8) { worker in
            let clients = ports.map { TestHTTPClient(port: $0) }
            for index in 0..<60 {
                let client = clients[(worker + index) % 2]
                do {
                    let sent = try client.request("POST", "/api/messages/send",
                                                  json: ["user_id": .integer(Int64(worker + 2)), "message": .string("worker \(worker) #\(index) loan rejected")])
                    guard sent.status == 201, let id = sent.json?["message_id"]?.doubleValue else {
                        failures.withLock { $0.append("send \(sent.status) \(sent.text)") }
                        continue
                    }
                    acknowledged.withLock { $0.append(Int64(id)) }
                    if index % 3 == 0 {
                        let reply = try client.request("POST", "/api/messages/\(targetID)/reply",
                                                       json: ["agent_name": .string("agent \(worker)"), "reply": .string("r\(index)")])
                        if reply.status == 201 { replies.add(1, ordering: .relaxed) } else { failures.withLock { $0.append("reply \(reply.status)") } }
                        let assign = try client.request("POST", "/api/messages/\(targetID)/assign", json: ["agent_name": .string("agent \(worker)")])
                        if assign.status == 200 { lastAssigned.withLock { $0.append("agent \(worker)") } } else { failures.withLock { $0.append("assign \(assign.status)") } }
                    }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let ids = acknowledged.withLock { $0 }
        XCTAssertEqual(ids.count, 1 + 8 * 60)
        XCTAssertEqual(Set(ids).count, ids.count, "ids are unique across the servers")

        // Both servers see every acknowledged message exactly once, and the same state of the shared one.
        for port in ports {
            let listed = try walk(port: port)
            XCTAssertEqual(listed.count, ids.count, "no duplicates, nothing missing (port \(port))")
            XCTAssertEqual(Set(listed), Set(ids))
            let shared = try TestHTTPClient(port: port).request("GET", "/api/messages/\(targetID)")
            XCTAssertEqual(shared.json?["replies"]?.arrayValue?.count, replies.load(ordering: .relaxed), "no reply lost")
            let assigned = try XCTUnwrap(shared.json?["assigned_to"]?.stringValue)
            XCTAssertTrue(lastAssigned.withLock { $0 }.contains(assigned))
        }
        XCTAssertEqual(try TestHTTPClient(port: ports[0]).request("GET", "/api/messages/\(targetID)").json?["assigned_to"],
                       try TestHTTPClient(port: ports[1]).request("GET", "/api/messages/\(targetID)").json?["assigned_to"])

        // The LLM toggle lives in the database: set on one server, seen by the other (within its 1 s cache).
        XCTAssertEqual(try TestHTTPClient(port: ports[0]).request("POST", "/api/set/llm", json: ["use_llm": true]).status, 200)
        try waitUntil("the other server to see the toggle") {
            try TestHTTPClient(port: ports[1]).request("GET", "/api/get/llm").json?["use_llm"] == true
        }

        // Each server reports its own rules version; the fleet shows both.
        let statuses = try ports.map { try XCTUnwrap(try TestHTTPClient(port: $0).request("GET", "/api/rules").json) }
        let versions = statuses.compactMap { $0["active"]?["version"]?.stringValue }
        XCTAssertEqual(versions.count, 2)
        XCTAssertNotEqual(versions[0], versions[1])
        for (index, status) in statuses.enumerated() {
            let fleet = try XCTUnwrap(status["fleet"]?.arrayValue)
            XCTAssertEqual(fleet.count, 2)
            XCTAssertEqual(Set(fleet.compactMap { $0["rules_version"]?.stringValue }), Set(versions))
            let this = try XCTUnwrap(fleet.first { $0["this"] == true })
            XCTAssertEqual(this["rules_version"]?.stringValue, versions[index])
            XCTAssertEqual(this["id"], status["instance"])
            XCTAssertEqual(this["pid"]?.doubleValue, Double([first, second][index].process.processIdentifier))
        }
        // A server that stops leaves the fleet.
        second.stop()
        let remaining = try XCTUnwrap(try TestHTTPClient(port: ports[0]).request("GET", "/api/rules").json?["fleet"]?.arrayValue)
        XCTAssertEqual(remaining.count, 1)
    }

    /// Every message id, following the pages.
    private func walk(port: UInt16) throws -> [Int64] {
        let client = TestHTTPClient(port: port)
        var ids: [Int64] = []
        var next: String? = "/api/messages?status=all&sort=time&limit=200"
        while let path = next {
            let response = try client.request("GET", path)
            ids += (response.json?.arrayValue ?? []).compactMap { $0["id"]?.doubleValue.map(Int64.init) }
            next = response.header("link").flatMap { link in
                link.range(of: "<").flatMap { start in link.range(of: ">").map { String(link[start.upperBound..<$0.lowerBound]) } }
            }
        }
        return ids
    }
}
