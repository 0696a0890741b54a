import Foundation
import XCTest
@testable import Server
import Support
import TestSupport

/// Webhooks through the running server: every change is delivered, signed as Standard Webhooks asks, in order per
/// message; a receiver that is down gets everything once it is up; one that always fails is given up on, visibly.
final class WebhookTests: XCTestCase {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    private var receiver: FakeOpenAIServer!
    private var server: TestServer?

    override func setUpWithError() throws {
        receiver = try FakeOpenAIServer()
        receiver.answerByDefault(.status(200, body: "{}"))
    }

    override func tearDown() {
        server?.stop()
        receiver.stop()
    }

    private func start(_ adjust: @escaping (inout WebhookConfiguration) -> Void = { _ in }) throws -> TestHTTPClient {
        let url = receiver.baseURL + "/hooks"
        let server = try TestServer { configuration in
            configuration.webhooks.urls = [url]
            configuration.webhooks.secret = WebhookTests.secret
            configuration.webhooks.retryBaseMilliseconds = 50
            adjust(&configuration.webhooks)
        }
        self.server = server
        return server.client()
    }

    /// The deliveries received, each checked the way a receiver must: the signature over id.timestamp.body.
    private func verifiedDeliveries() throws -> [(id: String, body: JSONValue)] {
        let signature = try WebhookSignature(secret: WebhookTests.secret)
        return try receiver.requests.filter { $0.path == "/v1/hooks" }.map { request in
            let id = try XCTUnwrap(request.headers["webhook-id"])
            let timestamp = try XCTUnwrap(Int64(request.headers["webhook-timestamp"] ?? ""))
            XCTAssertEqual(request.headers["webhook-signature"], signature.sign(id: id, timestamp: timestamp, body: request.body),
                           "every delivery is signed")
            XCTAssertLessThan(abs(Double(timestamp) - Date().timeIntervalSince1970), 300)
            XCTAssertEqual(request.headers["content-type"], "application/json")
            return (id, try XCTUnwrap(request.json))
        }
    }

    func testEveryChangeIsDeliveredSignedAndInOrder() throws {
        let client = try start()
        let sent = try client.request("POST", "/api/messages/send", json: ["user_id": 8, "message": "my loan <b>is</b> late \"again\""])
        XCTAssertEqual(sent.status, 201)
        let id = Int64(try XCTUnwrap(sent.json?["message_id"]?.doubleValue))
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/reply", json: ["agent_name": "Ann", "reply": "on it"]).status, 201)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/assign", json: ["agent_name": "Ann"]).status, 200)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/resolve").status, 200)
        try waitUntil("four deliveries") { try self.verifiedDeliveries().count >= 4 }
        let deliveries = try verifiedDeliveries()
        XCTAssertEqual(deliveries.map { $0.body["type"]?.stringValue }, ["message.created", "message.updated", "message.updated", "message.updated"])
        XCTAssertEqual(deliveries.map { $0.body["data"]?["change"]?.stringValue }, [nil, "reply", "assign", "resolve"], "in order")
        let created = deliveries[0].body
        XCTAssertEqual(created["data"]?["message_id"]?.doubleValue, Double(id))
        XCTAssertEqual(created["data"]?["user_id"]?.doubleValue, 8)
        XCTAssertEqual(created["data"]?["message"], "my loan <b>is</b> late \"again\"")
        XCTAssertNotNil(created["timestamp"]?.stringValue)
        XCTAssertEqual(Set(deliveries.map(\.id)).count, 4, "one webhook-id per event")
        let listed = try XCTUnwrap(try client.request("GET", "/api/webhooks/deliveries").json?.arrayValue)
        XCTAssertEqual(listed.count, 4)
        XCTAssertTrue(listed.allSatisfy { $0["status"] == "delivered" && $0["attempts"]?.doubleValue == 1 }, "\(listed)")
    }

    func testAReceiverThatIsDownForAWhileGetsEverythingInOrder() throws {
        receiver.script(.status(503, body: "{}"), .status(503, body: "{}"), .drop, .status(500, body: "{}"))
        let client = try start()
        var ids: [Int64] = []
        for index in 0..<3 {
            let sent = try client.request("POST", "/api/messages/send", json: ["user_id": .integer(Int64(index + 1)), "message": .string("m\(index)")])
            ids.append(Int64(try XCTUnwrap(sent.json?["message_id"]?.doubleValue)))
            XCTAssertEqual(try client.request("POST", "/api/messages/\(ids[index])/resolve").status, 200)
        }
        try waitUntil("all six events delivered") {
            try self.verifiedDeliveries().count >= 6
                && (try client.request("GET", "/api/webhooks/deliveries").json?.arrayValue ?? []).allSatisfy { $0["status"] == "delivered" }
        }
        let delivered = try verifiedDeliveries()
        // Per message: created before updated, whatever failed in between; every event arrived (perhaps more than once).
        for id in ids {
            let types = delivered.filter { $0.body["data"]?["message_id"]?.doubleValue == Double(id) }.map { $0.body["type"]?.stringValue ?? "" }
            XCTAssertEqual(types.first, "message.created", "\(id): \(types)")
            XCTAssertEqual(types.last, "message.updated", "\(id): \(types)")
            XCTAssertEqual(Set(types), ["message.created", "message.updated"])
        }
    }

    func testAReceiverThatAlwaysFailsIsGivenUpOnVisiblyAndCanBeRetried() throws {
        receiver.answerByDefault(.status(500, body: "{}"))
        let client = try start { webhooks in
            webhooks.retryBaseMilliseconds = 100
            webhooks.maximumAge = 1
        }
        XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "doomed"]).status, 201)
        var delivery: JSONValue = .null
        try waitUntil("the delivery to be marked failed") {
            delivery = try client.request("GET", "/api/webhooks/deliveries").json?.arrayValue?.first ?? .null
            return delivery["status"] == "failed"
        }
        let attempts = try XCTUnwrap(delivery["attempts"]?.doubleValue)
        // 0.1 s doubling (±50 %) within a 1 s life: 3 to 6 attempts, not a tight loop.
        XCTAssertTrue((3...6).contains(Int(attempts)), "\(attempts) attempts")
        XCTAssertEqual(delivery["last_error"], "http 500")
        XCTAssertEqual(delivery["last_status"]?.doubleValue, 500)
        XCTAssertEqual(delivery["next_attempt_at"], .null)
        XCTAssertEqual(receiver.requests.count, Int(attempts))
        // Retried by hand once the receiver works.
        receiver.answerByDefault(.status(204, body: ""))
        let id = Int64(try XCTUnwrap(delivery["id"]?.doubleValue))
        XCTAssertEqual(try client.request("POST", "/api/webhooks/deliveries/\(id)/retry").status, 200)
        XCTAssertEqual(try client.request("POST", "/api/webhooks/deliveries/999999/retry").status, 404)
        try waitUntil("the retried delivery to succeed") {
            try client.request("GET", "/api/webhooks/deliveries").json?.arrayValue?.first?["status"] == "delivered"
        }
    }

    func testFiltersByEventTypeAndUrgency() throws {
        let client = try start { webhooks in
            webhooks.events = ["message.created"]
            webhooks.minimumUrgency = 4
        }
        let low = try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "thanks, all good"])
        let high = try client.request("POST", "/api/messages/send", json: ["user_id": 2, "message": "URGENT my loan was rejected and I can't pay rent"])
        let highID = try XCTUnwrap(high.json?["message_id"]?.doubleValue)
        XCTAssertLessThan(try XCTUnwrap(low.json?["urgency"]?.doubleValue), 4)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(Int(highID))/resolve").status, 200)
        try waitUntil("the high one delivered") { !(try self.verifiedDeliveries().isEmpty) }
        let third = try client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": "URGENT fraud on my account"])
        let thirdID = try XCTUnwrap(third.json?["message_id"]?.doubleValue)
        try waitUntil("the next high one delivered") { try self.verifiedDeliveries().count >= 2 }
        XCTAssertEqual(try verifiedDeliveries().map { $0.body["data"]?["message_id"]?.doubleValue }, [highID, thirdID],
                       "no low-urgency message, no update")
    }

    func testURLsAreShownWithoutCredentials() {
        XCTAssertEqual(WebhookRoutes.redacted("https://user:pass@hooks.example.com/x?token=abc"), "https://…@hooks.example.com/x?…")
        XCTAssertEqual(WebhookRoutes.redacted("https://hooks.example.com/services/T0/B0"), "https://hooks.example.com/services/T0/B0")
        XCTAssertEqual(WebhookRoutes.redacted("http://h.example/a@b"), "http://h.example/a@b", "an @ in the path is not a credential")
    }

    func testTenThousandEventsInABurstAreAllDelivered() throws {
        _ = try start()
        let batch = (0..<10_000).map { index in
            NewMessage(customerID: Int64(index % 500 + 1), body: "burst \(index)", createdAt: .now(), urgency: 3, rulesVersion: "v",
                       breakdown: .null, importKey: "burst-\(index)")
        }
        let store = try XCTUnwrap(server).server.store
        for chunk in stride(from: 0, to: batch.count, by: 1000) {
            XCTAssertEqual(try store.importMessages(Array(batch[chunk..<chunk + 1000])).messagesAdded, 1000)
        }
        let seconds = try waitUntil("10,000 deliveries", timeout: 300) { self.receiver.requests.count >= 10_000 }
        print("10,000 webhook deliveries in \(String(format: "%.1f", seconds)) s")
        let ids = Set(receiver.requests.compactMap { $0.headers["webhook-id"] })
        XCTAssertEqual(ids.count, 10_000, "each event delivered")
    }
}
