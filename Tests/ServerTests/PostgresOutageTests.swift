import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// PostgreSQL going away under a running server: requests answer 503 quickly, nothing crashes, the server
/// reconnects by itself, and every acknowledged message is there afterwards.
final class PostgresOutageTests: XCTestCase {
    func testARestartOfPostgreSQLIsA503WindowAndLosesNothingAcknowledged() throws {
        let postgres = try PostgresTestServer.shared()
        let url = try postgres.database()
        let logged = Mutex<[String]>([])
        OperationsLog.shared.redirect { line in logged.withLock { $0.append(line) } }
        defer { OperationsLog.shared.redirect(to: nil) }
        let server = try TestServer { $0.database = .postgres(url: url) }
        defer { server.stop() }
        let client = server.client()
        var acknowledged: [Int64] = []
        func send(_ text: String) throws -> TestHTTPClient.Response {
            let response = try client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": .string(text)])
            if response.status == 201, let id = response.json?["message_id"]?.doubleValue { acknowledged.append(Int64(id)) }
            return response
        }
        for index in 0..<20 { XCTAssertEqual(try send("before the outage #\(index)").status, 201) }
        XCTAssertEqual(try client.request("POST", "/api/messages/1/assign", json: ["agent_name": "Ann"]).status, 200)

        try postgres.stopServer()
        var restarted = false
        defer { if !restarted { try? postgres.startServer() } }
        let duringOutage: [(method: String, path: String, body: JSONValue?)] = [
            ("POST", "/api/messages/send", ["user_id": 3, "message": "during the outage"]), ("GET", "/api/messages?status=all", nil),
            ("GET", "/api/messages/1", nil), ("POST", "/api/messages/1/resolve", nil), ("GET", "/api/customers/3", nil),
        ]
        for (method, path, body) in duringOutage {
            let started = Date()
            let response = try body.map { try client.request(method, path, json: $0) } ?? client.request(method, path)
            XCTAssertEqual(response.status, 503, "\(method) \(path): \(response.text)")
            XCTAssertEqual(response.json?["error"]?.stringValue, "storage unavailable: try again shortly",
                           "a short reason for clients, never the driver's text")
            XCTAssertEqual(response.header("retry-after"), "1")
            XCTAssertLessThan(Date().timeIntervalSince(started), 3.5, "\(method) \(path) must not hang")
        }
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200, "the process itself is fine")
        XCTAssertEqual(try client.request("GET", "/livez").status, 200)
        let notReady = try client.request("GET", "/readyz")
        XCTAssertEqual(notReady.status, 503, notReady.text)
        XCTAssertEqual(notReady.json?["checks"]?["rules"], "ok")
        XCTAssertNotEqual(notReady.json?["checks"]?["store"], "ok")
        XCTAssertTrue(logged.withLock { $0 }.contains { $0.contains("store_outage") }, "the outage is logged, with the driver's detail")
        XCTAssertTrue(try client.request("GET", "/metrics").text.contains("urgencyiq_store_errors_total "), "counted")

        try postgres.startServer()
        restarted = true
        for index in 0..<20 { XCTAssertEqual(try send("after the outage #\(index)").status, 201, "reconnected by itself") }
        XCTAssertEqual(try client.request("GET", "/readyz").status, 200)
        XCTAssertTrue(logged.withLock { $0 }.contains { $0.contains("store_recovered") }, "and the recovery")
        let listed = try client.request("GET", "/api/messages?status=all&sort=time&limit=1000")
        XCTAssertEqual(listed.status, 200)
        let stored = Set((listed.json?.arrayValue ?? []).compactMap { $0["id"]?.doubleValue.map(Int64.init) })
        XCTAssertEqual(Set(acknowledged).subtracting(stored), [], "acknowledged but lost")
        XCTAssertEqual(acknowledged.count, 40)
        XCTAssertEqual(listed.header("x-total-count"), "40")
        XCTAssertEqual(try client.request("GET", "/api/messages/1").json?["assigned_to"], "Ann")
    }
}
