import Support
import Synchronization
import XCTest
@testable import Server

/// The API handler over a table of routes, called directly (router mode): where handlers run, admin access
/// without keys (a store that has none),
/// preflights and CORS, and every thrown error rendered.
final class APIHandlerTests: XCTestCase {
    private var workers: WorkerPool!

    override func setUp() { workers = WorkerPool(threads: 2, queueLimit: 8, name: "test-worker") }
    override func tearDown() { workers.stop() }

    private func handler(_ routes: [Route], token: String? = nil) -> APIHandler {
        APIHandler(routes: routes, workers: workers, cors: CORSPolicy(origins: ["https://console.example"]),
                   gate: AccessGate(store: NoKeysStore(), mode: .auto, adminToken: token, boundToLoopback: true),
                   logger: RequestLogger(format: .off))
    }

    /// The answer to `request`, waiting for handlers that answer from another thread.
    private func answer(_ handler: APIHandler, _ request: HTTPRequest) -> HTTPResponse? {
        let box = Mutex<HTTPResponse?>(nil)
        let done = DispatchSemaphore(value: 0)
        handler.handle(request) { response in
            box.withLock { $0 = response }
            done.signal()
        }
        guard done.wait(timeout: .now() + 30) == .success else { return nil }
        return box.withLock { $0 }
    }

    func testHandlersRunWhereTheySayAndTheirErrorsAreRendered() throws {
        let handler = handler([
            Route("GET", "/now", access: .read, handler: .immediate { _, _ in .json(["thread": .string(Thread.current.name ?? "")]) }),
            Route("GET", "/worker", access: .read) { _, _ in .json(["thread": .string(Thread.current.name ?? "")]) },
            Route("POST", "/later", access: .agent, handler: .asynchronous { _, parameters, respond in
                DispatchQueue.global().async { respond(.catching { throw StoreError("writer stopped") }) }
            }),
            Route("POST", "/refuse", access: .agent, handler: .asynchronous { _, _, _ in throw HTTPError.badRequest("no") }),
            Route("GET", "/items/{id}", access: .read) { _, parameters in
                guard parameters.id == 1 else { throw HTTPError.notFound("Item not found") }
                return .json(["id": .integer(parameters.id)])
            },
        ])
        XCTAssertNotEqual(try JSONParser.parse(XCTUnwrap(answer(handler, HTTPRequest(method: "GET", path: "/now"))).body)["thread"],
                          "test-worker-0")
        let onWorker = try JSONParser.parse(XCTUnwrap(answer(handler, HTTPRequest(method: "GET", path: "/worker"))).body)
        XCTAssertEqual(onWorker["thread"]?.stringValue?.hasPrefix("test-worker"), true)
        let later = try XCTUnwrap(answer(handler, HTTPRequest(method: "POST", path: "/later")))
        XCTAssertEqual(later.status, 503)
        XCTAssertEqual(later.header("retry-after"), "1")
        XCTAssertEqual(answer(handler, HTTPRequest(method: "POST", path: "/refuse"))?.status, 400)
        XCTAssertEqual(answer(handler, HTTPRequest(method: "GET", path: "/items/1"))?.status, 200)
        XCTAssertEqual(answer(handler, HTTPRequest(method: "GET", path: "/items/2"))?.status, 404)
    }

    func testRoutingAnswers() throws {
        let handler = handler([Route("GET", "/items/{id}", access: .read) { _, _ in .json([:]) }])
        XCTAssertEqual(answer(handler, HTTPRequest(method: "GET", path: "/nothing"))?.status, 404)
        let wrong = try XCTUnwrap(answer(handler, HTTPRequest(method: "DELETE", path: "/items/3")))
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("allow"), "GET, HEAD, OPTIONS")
        var badQuery = HTTPRequest(method: "GET", path: "/items/3")
        badQuery.queryIsValidUTF8 = false
        XCTAssertEqual(answer(handler, badQuery)?.status, 400)
    }

    func testAdminRoutesAndCORS() throws {
        let routes = [Route("POST", "/admin/thing", access: .admin) { request, _ in .json(["admin": .bool(request.isAdmin)]) }]
        let open = handler(routes)
        XCTAssertEqual(answer(open, HTTPRequest(method: "POST", path: "/admin/thing"))?.status, 200, "loopback without a token")
        XCTAssertEqual(answer(open, HTTPRequest(method: "POST", path: "/admin/thing", isFromLoopback: false))?.status, 403)
        let guarded = handler(routes, token: "s3cret")
        XCTAssertEqual(answer(guarded, HTTPRequest(method: "POST", path: "/admin/thing"))?.status, 401)
        XCTAssertEqual(answer(guarded, HTTPRequest(method: "POST", path: "/admin/thing", headers: ["authorization": "Bearer nope"]))?.status, 401)
        let allowed = try XCTUnwrap(answer(guarded, HTTPRequest(method: "POST", path: "/admin/thing",
                                                                headers: ["authorization": "Bearer s3cret", "origin": "https://console.example"])))
        XCTAssertEqual(allowed.status, 200)
        XCTAssertEqual(try JSONParser.parse(allowed.body)["admin"], true)
        XCTAssertEqual(allowed.header("access-control-allow-origin"), "https://console.example")
        let preflight = try XCTUnwrap(answer(guarded, HTTPRequest(method: "OPTIONS", path: "/admin/thing",
                                                                  headers: ["origin": "https://console.example", "access-control-request-method": "POST"])))
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(answer(guarded, HTTPRequest(method: "OPTIONS", path: "/elsewhere"))?.status, 404)
    }
}

/// An access store without keys or audit entries: the API handler's tests need a gate, not a database.
final class NoKeysStore: AccessStore {
    func createAPIKey(_ key: NewAPIKey, audit: AuditEntry) throws(StoreError) -> APIKeyCreation { throw StoreError("read-only") }
    func revokeAPIKeys(named name: String, at: Timestamp, audit: AuditEntry) throws(StoreError) -> Int { 0 }
    func apiKeys() throws(StoreError) -> [APIKeyRecord] { [] }
    func apiKey(hash: String) throws(StoreError) -> APIKeyRecord? { nil }
    func hasActiveAPIKeys(at now: Timestamp) throws(StoreError) -> Bool { false }
    func hasAnyAPIKeys() throws(StoreError) -> Bool { false }
    func recordAudit(_ entry: AuditEntry) throws(StoreError) {}
    func auditEntries(_ query: AuditQuery) throws(StoreError) -> [AuditEntry] { [] }
}
