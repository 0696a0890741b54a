import Foundation
import Synchronization
import XCTest
@testable import Server
import Support
import TestSupport

/// A ticket that passes its first-response due time unanswered is reported once, as a `message.overdue` event, on
/// a clock the test moves; an answered one never is; the metrics count the overdue ones.
final class OverdueTests: XCTestCase {
    /// A clock ahead of the real one by what the test says.
    private final class MovableClock: Sendable {
        let offset = Mutex<Double>(0)
        var now: Timestamp { Timestamp(microseconds: Timestamp.now().microseconds + Int64(offset.withLock { $0 } * 1e6)) }
        func move(to seconds: Double) { offset.withLock { $0 = seconds } }
    }

    private var server: TestServer?

    private var rulesDirectory: URL?

    override func tearDown() {
        server?.stop()
        if let rulesDirectory { try? FileManager.default.removeItem(at: rulesDirectory) }
    }

    /// A server whose rules are one urgency.lua of `source`.
    private func start(urgency source: String) throws -> TestHTTPClient {
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-sla-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        rulesDirectory = rules
        try Data(source.utf8).write(to: rules.appendingPathComponent("urgency.lua"))
        let directory = rules.path
        let server = try TestServer { $0.rulesDirectory = directory }
        self.server = server
        return server.client()
    }

    /// `overdue=true` lists the late ones, and a customer's profile counts them (on the real clock: targets of 1 s).
    func testOverdueListingAndCustomerCount() throws {
        let client = try start(urgency: "sla = { 1, 1, 1, 1, 1 }\nfunction score() return 3 end\n")
        let sent = try client.request("POST", "/api/messages/send", json: ["user_id": 77, "message": "anyone?"])
        let id = try XCTUnwrap(sent.json?["message_id"]?.doubleValue)
        try waitUntil("the ticket to be overdue") {
            try client.request("GET", "/api/messages?overdue=true").json?.arrayValue?.map { $0["id"]?.doubleValue } == [id]
        }
        XCTAssertEqual(try client.request("GET", "/api/messages/\(Int(id))").json?["overdue"], true)
        XCTAssertEqual(try client.request("GET", "/api/messages?overdue=true").header("x-total-count"), "1")
        XCTAssertEqual(try client.request("GET", "/api/customers/77").json?["overdue_messages"]?.doubleValue, 1)
        XCTAssertEqual(try client.request("GET", "/api/messages?overdue=yes").status, 400)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(Int(id))/reply", json: ["agent_name": "Ann", "reply": "here"]).status, 201)
        XCTAssertEqual(try client.request("GET", "/api/messages?overdue=true").json?.arrayValue?.count, 0)
        XCTAssertEqual(try client.request("GET", "/api/customers/77").json?["overdue_messages"]?.doubleValue, 0)
        try waitUntil("the first response to be counted") {
            try client.request("GET", "/metrics").text.contains("urgencyiq_first_response_seconds_count 1\n")
        }
    }

    /// A deploy that changes the targets applies to new tickets; a rescore applies it to the old ones.
    func testChangedTargetsApplyToNewTicketsAndAfterARescoreToOldOnes() throws {
        let client = try start(urgency: "sla = { [3] = \"1h\" }\nfunction score() return 3 end\n")
        func waitingTime(_ id: Int) throws -> Double? {
            let message = try XCTUnwrap(try client.request("GET", "/api/messages/\(id)").json)
            guard let created = message["timestamp"]?.stringValue.flatMap({ Timestamp(parsing: $0) }),
                  let due = message["first_response_due"]?.stringValue.flatMap({ Timestamp(parsing: $0) }) else { return nil }
            return (Double(due.microseconds - created.microseconds) / 1e6).rounded()
        }
        let old = Int(try XCTUnwrap(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "first"]).json?["message_id"]?.doubleValue))
        XCTAssertEqual(try waitingTime(old), 3600)
        let deployed = try client.request("PUT", "/api/rules", json: ["urgency.lua": "sla = { [3] = \"2m\" }\nfunction score() return 3 end\n"])
        XCTAssertEqual(deployed.status, 200, deployed.text)
        let new = Int(try XCTUnwrap(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "second"]).json?["message_id"]?.doubleValue))
        XCTAssertEqual(try waitingTime(new), 120, "new tickets get the new target")
        XCTAssertEqual(try waitingTime(old), 3600, "old ones keep theirs")
        XCTAssertEqual(try client.request("POST", "/admin/rescore", json: ["status": "open"]).status, 200)
        XCTAssertEqual(try waitingTime(old), 120, "until a rescore")
    }

    func testALateTicketIsReportedOnceAndAnAnsweredOneNever() throws {
        let clock = MovableClock()
        let server = try TestServer { configuration in
            configuration.clock = { clock.now }
            configuration.overdueCheckInterval = 0.05
        }
        self.server = server
        let client = server.client()
        let subscriber = try EventStreamClient(port: server.port)
        func send(_ text: String) throws -> Int64 {
            Int64(try XCTUnwrap(try client.request("POST", "/api/messages/send", json: ["user_id": 4, "message": .string(text)]).json?["message_id"]?.doubleValue))
        }
        let late = try send("Why was my loan rejected?")
        let answered = try send("my account is blocked")
        XCTAssertEqual(try client.request("POST", "/api/messages/\(answered)/reply", json: ["agent_name": "Ann", "reply": "looking"]).status, 201)
        XCTAssertEqual(try client.request("GET", "/api/messages/\(late)").json?["overdue"], false)

        clock.move(to: 4 * 86_400)  // four days later: past every target of the seed profile's sla
        var events = try subscriber.events(until: { $0.name == "message.overdue" })
        XCTAssertEqual(events.last?.json?["message_id"]?.doubleValue, Double(late))
        // A third ticket, then later still: its report comes, and the first is not reported again in between.
        let third = try send("I need help")
        clock.move(to: 8 * 86_400)
        events = try subscriber.events(until: { $0.name == "message.overdue" && $0.json?["message_id"]?.doubleValue == Double(third) })
        XCTAssertFalse(events.contains { $0.name == "message.overdue" && $0.json?["message_id"]?.doubleValue == Double(late) },
                       "reported once")
        XCTAssertFalse(events.contains { $0.name == "message.overdue" && $0.json?["message_id"]?.doubleValue == Double(answered) })
        let metrics = try client.request("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("urgencyiq_overdue_open_messages 2\n"), metrics)
        // Once answered, a ticket is no longer overdue.
        XCTAssertEqual(try client.request("POST", "/api/messages/\(late)/reply", json: ["agent_name": "Ann", "reply": "sorry"]).status, 201)
        XCTAssertTrue(try client.request("GET", "/metrics").text.contains("urgencyiq_overdue_open_messages 1\n"))
    }
}
