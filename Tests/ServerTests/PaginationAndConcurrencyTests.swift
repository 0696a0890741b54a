import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport

/// Paging walks every row exactly once; concurrent clients lose nothing.
final class PaginationAndConcurrencyTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws { server = try TestServer() }
    override func tearDown() { server.stop() }

    /// Follows Link headers from `path` to the end; the ids in order, and the X-Total-Count seen.
    private func walk(_ path: String, client: TestHTTPClient) throws -> (ids: [Int64], total: String?) {
        var next: String? = path
        var ids: [Int64] = []
        var total: String?
        var pages = 0
        while let current = next, pages < 1000 {
            let response = try client.request("GET", current)
            XCTAssertEqual(response.status, 200, response.text)
            total = response.header("x-total-count")
            ids += (response.json?.arrayValue ?? []).compactMap { $0["id"]?.doubleValue.map(Int64.init) }
            next = response.header("link").flatMap { link in
                link.range(of: "<").flatMap { start in link.range(of: ">").map { String(link[start.upperBound..<$0.lowerBound]) } }
            }
            pages += 1
        }
        return (ids, total)
    }

    func testPaginationWalksEveryRowExactlyOnce() throws {
        let client = server.client()
        let texts = ["fraud!", "when will my loan be disbursed??", "I will pay tomorrow", "thanks", "how do I change my number"]
        var sent: [Int64] = []
        for i in 0..<157 {
            let response = try client.request("POST", "/api/messages/send", json: ["user_id": .integer(Int64(i % 11 + 1)), "message": .string(texts[i % 5])])
            sent.append(Int64(try XCTUnwrap(response.json?["message_id"]?.doubleValue)))
        }
        for sort in ["urgency", "time", "due"] {
            let (ids, total) = try walk("/api/messages?sort=\(sort)&limit=10", client: client)
            XCTAssertEqual(ids.count, 157, sort)
            XCTAssertEqual(Set(ids), Set(sent), sort)
            XCTAssertEqual(total, "157")
        }
        let (filtered, total) = try walk("/api/messages?user_id=3&search=LOAN&limit=2", client: client)
        XCTAssertEqual(total, String(filtered.count))
        XCTAssertGreaterThan(filtered.count, 2)
        let (newer, _) = try walk("/api/messages?since_id=150&sort=time", client: client)
        XCTAssertEqual(Set(newer), Set(sent.filter { $0 > 150 }))
    }

    func testConcurrentClientsLoseNothing() throws {
        let port = server.port
        let firstClient = server.client()
        XCTAssertEqual(try firstClient.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "shared ticket"]).status, 201)
        let failures = Mutex<[String]>([])
        let acknowledged = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 12) { worker in
            let client = TestHTTPClient(port: port)
            for i in 0..<25 {
                do {
                    let sent = try client.request("POST", "/api/messages/send",
                                                  json: ["user_id": .integer(Int64(worker + 2)), "message": .string("worker \(worker) message \(i)")])
                    guard sent.status == 201, let id = sent.json?["message_id"]?.doubleValue else {
                        failures.withLock { $0.append("send \(sent.status)") }
                        continue
                    }
                    acknowledged.withLock { $0.append(Int64(id)) }
                    let reply = try client.request("POST", "/api/messages/1/reply",
                                                   json: ["agent_name": .string("agent \(worker)"), "reply": .string("reply \(i)")])
                    let assign = try client.request("POST", "/api/messages/1/assign", json: ["agent_name": .string("agent \(worker)")])
                    if reply.status != 201 || assign.status != 200 { failures.withLock { $0.append("reply \(reply.status) assign \(assign.status)") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let client = server.client()
        let shared = try client.request("GET", "/api/messages/1")
        XCTAssertEqual(shared.json?["replies"]?.arrayValue?.count, 300)
        XCTAssertTrue(shared.json?["assigned_to"]?.stringValue?.hasPrefix("agent ") ?? false)
        let ids = acknowledged.withLock { $0 }
        XCTAssertEqual(Set(ids).count, 300)
        let (listed, total) = try walk("/api/messages?status=all&limit=1000", client: client)
        XCTAssertEqual(total, "301")
        XCTAssertTrue(Set(ids).isSubset(of: Set(listed)))
    }
}
