import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport
import Support

/// Every example of the seed's README, over real HTTP against a real SQLite file.
final class APITests: XCTestCase {
    private var server: TestServer!
    private var client: TestHTTPClient!

    override func setUpWithError() throws {
        server = try TestServer()
        client = server.client()
    }

    override func tearDown() { server.stop() }

    private func send(_ user: Int64, _ text: String) throws -> TestHTTPClient.Response {
        try client.request("POST", "/api/messages/send", json: ["user_id": .integer(user), "message": .string(text)])
    }

    func testSendScoresAndStores() throws {
        let response = try send(12345, "Why was my loan rejected?")
        XCTAssertEqual(response.status, 201)
        XCTAssertEqual(response.header("content-type"), "application/json")
        XCTAssertEqual(response.json?["success"], true)
        XCTAssertEqual(response.json?["urgency"], 5.0)
        XCTAssertEqual(response.json?["message_id"], 1)
        XCTAssertEqual(Set(response.json.flatMap { if case .object(let o) = $0 { Array(o.keys) } else { nil } } ?? []),
                       ["success", "message_id", "urgency"])
    }

    func testSendAcceptsFormBodiesAndNumericStrings() throws {
        let response = try client.request("POST", "/api/messages/send", body: Array("user_id=42&message=When+will+my+loan+be+disbursed%3F%3F%3F".utf8),
                                          headers: ["Content-Type": "application/x-www-form-urlencoded"])
        XCTAssertEqual(response.status, 201, response.text)
        XCTAssertEqual(response.json?["urgency"], 4.5)
        let json = try client.request("POST", "/api/messages/send", json: ["user_id": "43", "message": "Thanks"])
        XCTAssertEqual(json.status, 201, json.text)
    }

    /// The rules' sla sets each ticket's first-response due time; the first reply answers it.
    func testFirstResponseTargetsFromTheRules() throws {
        let sent = try client.request("POST", "/api/messages/send", json: ["user_id": 5, "message": "Why was my loan rejected?"])
        let id = Int(try XCTUnwrap(sent.json?["message_id"]?.doubleValue))
        let urgency = try XCTUnwrap(sent.json?["urgency"]?.doubleValue)
        let message = try XCTUnwrap(try client.request("GET", "/api/messages/\(id)").json)
        let created = try XCTUnwrap(message["timestamp"]?.stringValue.flatMap { Timestamp(parsing: $0) })
        let due = try XCTUnwrap(message["first_response_due"]?.stringValue.flatMap { Timestamp(parsing: $0) })
        let expected: Double = [5: 900, 4: 3600, 3: 14_400, 2: 86_400, 1: 259_200][min(5, max(1, Int(urgency.rounded())))]!
        XCTAssertEqual(Double(due.microseconds - created.microseconds) / 1e6, expected, accuracy: 0.001, "the seed profile's sla")
        XCTAssertEqual(message["first_response_at"], .null)
        XCTAssertEqual(message["overdue"], false)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/reply", json: ["agent_name": "Ann", "reply": "on it"]).status, 201)
        let answered = try XCTUnwrap(try client.request("GET", "/api/messages/\(id)").json)
        XCTAssertNotEqual(answered["first_response_at"], .null)
        XCTAssertEqual(answered["overdue"], false)
    }

    func testListShowsTheSeedFieldsAndTimestampFormat() throws {
        _ = try send(12345, "Why was my loan rejected?")
        let list = try client.request("GET", "/api/messages?status=open&sort=urgency&search=loan")
        XCTAssertEqual(list.status, 200)
        let first = try XCTUnwrap(list.json?.arrayValue?.first)
        guard case .object(let fields) = first else { return XCTFail("not an object") }
        XCTAssertEqual(Set(fields.keys), ["id", "customer_id", "message", "timestamp", "urgency", "status", "assigned_to", "assigned_at", "replies",
                                          "first_response_due", "first_response_at", "overdue"], "the seed's fields, and the SLA's")
        XCTAssertEqual(first["customer_id"], 12345)
        XCTAssertEqual(first["status"], "open")
        XCTAssertEqual(first["assigned_to"], .null)
        let timestamp = try XCTUnwrap(first["timestamp"]?.stringValue)
        XCTAssertNotNil(timestamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$"#, options: .regularExpression), timestamp)
        XCTAssertEqual(list.header("x-total-count"), "1")
    }

    func testReplyAssignResolveUnassignAndProfile() throws {
        _ = try send(12345, "Why was my loan rejected?")
        let reply = try client.request("POST", "/api/messages/1/reply", json: ["agent_name": "Agent John", "reply": "Your application is under review."])
        XCTAssertEqual(reply.status, 201)
        XCTAssertEqual(reply.json, ["success": true])
        let assign = try client.request("POST", "/api/messages/1/assign", json: ["agent_name": "Agent Sarah"])
        XCTAssertEqual(assign.status, 200)
        XCTAssertEqual(assign.json?["assigned_to"], "Agent Sarah")
        XCTAssertNotNil(assign.json?["assigned_at"]?.stringValue.flatMap(Timestamp.init(parsing:)))
        let shown = try client.request("GET", "/api/messages/1")
        XCTAssertEqual(shown.json?["assigned_to"], "Agent Sarah")
        XCTAssertEqual(shown.json?["replies"]?.arrayValue?.first?["reply"], "Your application is under review.")
        XCTAssertEqual(shown.json?["breakdown"]?["tier"]?["name"], "high")
        XCTAssertEqual(shown.json?["rules_version"]?.stringValue, server.server.rules.scorer.rulesVersion)
        XCTAssertEqual(try client.request("POST", "/api/messages/1/unassign").json, ["success": true])
        XCTAssertEqual(try client.request("GET", "/api/messages/1").json?["assigned_to"], .null)
        XCTAssertEqual(try client.request("POST", "/api/messages/1/resolve").json, ["success": true])
        XCTAssertEqual(try client.request("GET", "/api/messages").json?.arrayValue?.count, 0)
        XCTAssertEqual(try client.request("GET", "/api/messages?status=resolved").json?.arrayValue?.count, 1)
        XCTAssertEqual(try client.request("GET", "/api/messages?status=all").json?.arrayValue?.count, 1)
        let profile = try client.request("GET", "/api/customers/12345")
        XCTAssertEqual(profile.status, 200)
        XCTAssertEqual(profile.json?["total_messages"], 1)
        XCTAssertEqual(profile.json?["open_messages"], 0)
        XCTAssertEqual(profile.json?["resolved_messages"], 1)
        XCTAssertEqual(profile.json?["avg_urgency"], 5.0)
    }

    func testRunsOnTheStoreThisPassIsFor() {
        // `make test` runs these suites on SQLite, then again with URGENCYIQ_TEST_STORE=postgres.
        if TestServer.usesPostgres {
            XCTAssertTrue(server.server.store is PostgresStore)
        } else {
            XCTAssertTrue(server.server.store is SQLiteStore)
        }
    }

    func testHealthAndLLMToggle() throws {
        XCTAssertEqual(try client.request("GET", "/api/health").json, ["status": "ok"])
        XCTAssertEqual(try client.request("GET", "/api/get/llm").json, ["use_llm": false])
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true]).json, ["success": true])
        XCTAssertEqual(try client.request("GET", "/api/get/llm").json, ["use_llm": true])
    }

    func testLLMTogglePersistsAcrossRestarts() throws {
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true]).status, 200)
        let directory = server.directory
        server.stop(removeFiles: false)
        server = try TestServer(directory: directory)
        XCTAssertEqual(try server.client().request("GET", "/api/get/llm").json, ["use_llm": true])
    }

    func testAdminSeedImportsTheSampleDataOnce() throws {
        let first = try client.request("POST", "/admin/seed")
        XCTAssertEqual(first.status, 200, first.text)
        XCTAssertEqual(first.json?["success"], true)
        let rows = try XCTUnwrap(first.json?["seeded"]?["rows"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(rows, 300)
        XCTAssertEqual(first.json?["seeded"]?["messages"]?.doubleValue, rows)
        XCTAssertGreaterThan(first.json?["seeded"]?["customers"]?.doubleValue ?? 0, 50)
        let second = try client.request("POST", "/admin/seed")
        XCTAssertEqual(second.json?["seeded"]?["messages"], 0)
        XCTAssertEqual(second.json?["duplicates"]?.doubleValue, rows)
        let list = try client.request("GET", "/api/messages?status=all&limit=1")
        XCTAssertEqual(list.header("x-total-count"), String(Int(rows)))
    }

    func testHeadAndKeepAlive() throws {
        for _ in 0..<3 { XCTAssertEqual(try client.request("GET", "/api/health").status, 200) }  // one connection
        let head = try client.request("HEAD", "/api/health")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.body, [])
    }
}
