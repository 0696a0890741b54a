import Foundation
import XCTest
@testable import Server
import Support
import TestSupport

/// `GET /api/events`: every ticket change reaches live subscribers as Server-Sent Events, in order, filtered
/// on request, replayed after a reconnect (across a restart too), without a thread per subscriber.
final class EventsTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws {
        server = try TestServer { $0.eventKeepAlive = 0.3 }
    }

    override func tearDown() { server?.stop() }

    private func send(_ text: String, user: Int64 = 5) throws -> Int64 {
        let response = try server.client().request("POST", "/api/messages/send", json: ["user_id": .integer(user), "message": .string(text)])
        XCTAssertEqual(response.status, 201, response.text)
        return Int64(try XCTUnwrap(response.json?["message_id"]?.doubleValue))
    }

    func testEveryTicketChangeReachesASubscriberInOrder() throws {
        let subscriber = try EventStreamClient(port: server.port)
        XCTAssertEqual(subscriber.status, 200)
        XCTAssertEqual(subscriber.headers["content-type"], "text/event-stream; charset=utf-8")
        XCTAssertEqual(subscriber.headers["cache-control"], "no-store")
        let hostile = "<img src=x onerror=alert(1)> \"quoted\" \\ ünï 🙏\nsecond line"
        let id = try send(hostile, user: 9)
        let client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/reply", json: ["agent_name": "Ann", "reply": "on it"]).status, 201)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/assign", json: ["agent_name": "Ann"]).status, 200)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/unassign").status, 200)
        XCTAssertEqual(try client.request("POST", "/api/messages/\(id)/resolve").status, 200)
        let events = try subscriber.events(until: { $0.json?["change"]?.stringValue == "resolve" })
        XCTAssertEqual(events.map(\.name), ["message.created"] + Array(repeating: "message.updated", count: 4))
        XCTAssertEqual(events.map { $0.json?["change"]?.stringValue }, [nil, "reply", "assign", "unassign", "resolve"])
        let ids = events.compactMap(\.id)
        XCTAssertEqual(ids.count, 5)
        XCTAssertEqual(ids, ids.sorted())
        XCTAssertEqual(Set(ids).count, 5)
        let created = try XCTUnwrap(events.first?.json)
        XCTAssertEqual(created["message_id"]?.doubleValue, Double(id))
        XCTAssertEqual(created["user_id"]?.doubleValue, 9)
        XCTAssertEqual(created["preview"]?.stringValue, hostile, "the text exactly, in one data line of JSON")
        XCTAssertNotNil(created["urgency"]?.doubleValue)
        XCTAssertEqual(events.last?.json?["status"]?.stringValue, "resolved")
        // Keep-alive comments come while nothing happens.
        let seen = subscriber.comments
        try waitUntil("keep-alive comments") {
            _ = try? subscriber.next(timeout: 0.1)
            return subscriber.comments > seen
        }
    }

    func testMinimumUrgencyFiltersMessageEvents() throws {
        let subscriber = try EventStreamClient(port: server.port, path: "/api/events?min_urgency=4")
        XCTAssertEqual(subscriber.status, 200)
        let low = try send("thanks, all good")
        let high = try send("URGENT my loan was rejected and I can't pay rent")
        let first = try subscriber.next()
        XCTAssertEqual(first.json?["message_id"]?.doubleValue, Double(high), "the low-urgency message \(low) is not sent")
        XCTAssertGreaterThanOrEqual(first.json?["urgency"]?.doubleValue ?? 0, 4)
    }

    func testAReconnectingClientGetsWhatItMissedAcrossARestart() throws {
        let subscriber = try EventStreamClient(port: server.port)
        let firstMessage = try send("first")
        let seen = try XCTUnwrap(try subscriber.next().id)
        subscriber.disconnect()
        let missed = [try send("second"), try send("third")]
        let directory = server.directory
        server.stop(removeFiles: false)
        server = try TestServer(directory: directory) { $0.eventKeepAlive = 0.3 }
        let later = try send("after the restart")
        let resumed = try EventStreamClient(port: server.port, headers: ["Last-Event-ID": String(seen)])
        XCTAssertEqual(resumed.status, 200)
        let events = try resumed.events(until: { $0.json?["message_id"]?.doubleValue == Double(later) })
        XCTAssertEqual(events.compactMap { $0.json?["message_id"]?.doubleValue }, (missed + [later]).map(Double.init))
        XCTAssertFalse(events.contains { $0.json?["message_id"]?.doubleValue == Double(firstMessage) })
        // The query form, for clients that cannot set headers.
        let byQuery = try EventStreamClient(port: server.port, path: "/api/events?last_event_id=\(seen)")
        XCTAssertEqual(try byQuery.next().json?["message_id"]?.doubleValue, Double(missed[0]))
    }

    func testAClientThatMissedMoreThanAStreamHoldsIsToldToReload() throws {
        let subscriber = try EventStreamClient(port: server.port)
        let first = try send("the last one it saw")
        let seen = try XCTUnwrap(try subscriber.events(until: { $0.json?["message_id"]?.doubleValue == Double(first) }).last?.id)
        subscriber.disconnect()
        // 2,500 long messages: their events are more than a stream may hold (about 1 MiB), though under 10,000.
        let body = String(repeating: "my loan is late and nobody answers ", count: 8)
        let batch = (0..<2_500).map { index in
            NewMessage(customerID: 4, body: body + "#\(index)", createdAt: .now(), urgency: 3, rulesVersion: "v", breakdown: .null,
                       importKey: "bulk-\(index)")
        }
        XCTAssertEqual(try server.server.store.importMessages(batch).messagesAdded, 2_500)
        let live = try EventStreamClient(port: server.port)  // follows the feed past the import
        let last = try send("after the import")
        _ = try live.events(until: { $0.json?["message_id"]?.doubleValue == Double(last) })
        let behind = try EventStreamClient(port: server.port, headers: ["Last-Event-ID": String(seen)])
        let resync = try behind.next()
        XCTAssertEqual(resync.name, "resync")
        XCTAssertGreaterThan(resync.id ?? 0, seen + 2_500, "where the feed stands, to reconnect from after reloading")
        // A client a few events behind is sent them.
        let close = try EventStreamClient(port: server.port, headers: ["Last-Event-ID": String((resync.id ?? 0) - 1)])
        XCTAssertEqual(try close.next().json?["message_id"]?.doubleValue, Double(last))
    }

    func testMalformedParametersAreRefused() throws {
        for (path, headers) in [("/api/events?min_urgency=high", [String: String]()), ("/api/events?min_urgency=-1", [:]),
                                ("/api/events", ["Last-Event-ID": "abc"]), ("/api/events?last_event_id=-5", [:])] {
            let response = try server.client().request("GET", path, headers: headers)
            XCTAssertEqual(response.status, 400, "\(path) \(headers)")
            XCTAssertNotNil(response.json?["error"]?.stringValue)
        }
    }

    func testManySubscribersEachGetTheEventAndLeavingOnesAreDropped() throws {
        // 250 subscribers from five loopback addresses (one address may hold 64 connections).
        var subscribers: [EventStreamClient] = []
        for index in 0..<250 {
            subscribers.append(try EventStreamClient(port: server.port, source: "127.0.0.\(2 + index / 50)"))
        }
        try waitUntil("all subscribed") { server.server.events.subscriberCount == 250 }
        let health = try server.client().request("GET", "/api/health")
        XCTAssertEqual(health.status, 200)
        let id = try send("to everyone")
        for subscriber in subscribers {
            XCTAssertEqual(try subscriber.next().json?["message_id"]?.doubleValue, Double(id))
        }
        for subscriber in subscribers.prefix(100) { subscriber.disconnect() }
        try waitUntil("the 100 that left are dropped (noticed at the next keep-alive)") { server.server.events.subscriberCount == 150 }
    }

    func testShuttingDownEndsTheStreams() throws {
        let subscriber = try EventStreamClient(port: server.port)
        try waitUntil("subscribed") { server.server.events.subscriberCount == 1 }
        let started = Date()
        server.stop()
        server = nil
        XCTAssertTrue(subscriber.waitForEnd(timeout: 10))
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "a stream does not hold the shutdown for its whole grace period")
    }
}
