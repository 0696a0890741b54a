import Foundation
import Support
import TestSupport
import XCTest

/// A webhook is never lost: the delivery is stored with the change, so a `kill -9` right after the 201 (before any
/// attempt could succeed: the receiver is not even listening) is delivered once the server is back.
final class WebhookDurabilityTests: XCTestCase {
    func testADeliveryPendingAtKillNineIsSentAfterTheRestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-webhook-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("kill.db").path
        // Reserve a port for the receiver, then leave it closed: every attempt before the restart fails.
        let receiverPort: UInt16 = try {
            let probe = try FakeOpenAIServer()
            defer { probe.stop() }
            return probe.port
        }()
        let environment = ["WEBHOOK_URL": "http://127.0.0.1:\(receiverPort)/v1/hooks", "WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                           "WEBHOOK_RETRY_BASE_MS": "100"]
        let server = try ServerProcess(database: database, environment: environment)
        let sent = try TestHTTPClient(port: server.port).request("POST", "/api/messages/send", json: ["user_id": 5, "message": "kill me now"])
        XCTAssertEqual(sent.status, 201)
        XCTAssertEqual(server.stop(signal: SIGKILL), SIGKILL)

        let receiver = try FakeOpenAIServer(port: receiverPort)
        defer { receiver.stop() }
        receiver.answerByDefault(.status(200, body: "{}"))
        let restarted = try ServerProcess(database: database, environment: environment)
        defer { restarted.stop() }
        try waitUntil("the delivery pending at the kill to arrive") { !receiver.requests.isEmpty }
        let body = try XCTUnwrap(receiver.requests.first?.json)
        XCTAssertEqual(body["type"], "message.created")
        XCTAssertEqual(body["data"]?["message"], "kill me now")
        XCTAssertEqual(body["data"]?["message_id"], sent.json?["message_id"])
    }
}
