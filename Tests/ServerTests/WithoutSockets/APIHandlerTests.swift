import Support
import Synchronization
import XCTest
@testable import Server

/// The API handler over a table of routes, called directly (router mode): where handlers run, admin access,
/// preflights and CORS, and every thrown error rendered.
final class APIHandlerTests: XCTestCase {
    private var workers: WorkerPool!

    override func setUp() { workers = WorkerPool(threads: 2, queueLimit: 8, name: "test-worker") }
    override func tearDown() { workers.stop() }

    private func handler(_ routes: [Route], token: String? = nil) -> APIHandler {
        APIHandler(routes: routes, workers: workers, cors: CORSPolicy(origins: ["https://console.example"]),
                   admin: AdminAccess(token: token), logger: RequestLogger(format: .off))
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
            Route("GET", "/now", handler: .immediate { _, _ in .json(["thread": .string(Thread.current.name ?? "")]) }),
            Route("GET", "/worker") { _, _ in .json(["thread": .string(Thread.current.name ?? "")]) },
            Route("POST", "/later", handler: .asynchronous { _, parameters, respond in
                DispatchQueue.global().async { respond(.catching { throw StoreError("writer stopped") }) }
            }),
            Route("POST", "/refuse", handler: .asynchronous { _, _, _ in throw HTTPError.badRequest("no") }),
            Route("GET", "/items/{id}") { _, parameters in
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
        let handler = handler([Route("GET", "/items/{id}") { _, _ in .json([:]) }])
        XCTAssertEqual(answer(handler, HTTPRequest(method: "GET", path: "/nothing"))?.status, 404)
        let wrong = try XCTUnwrap(answer(handler, HTTPRequest(method: "DELETE", path: "/items/3")))
        XCTAssertEqual(wrong.status, 405)
        XCTAssertEqual(wrong.header("allow"), "GET, HEAD, OPTIONS")
        var badQuery = HTTPRequest(method: "GET", path: "/items/3")
        badQuery.queryIsValidUTF8 = false
        XCTAssertEqual(answer(handler, badQuery)?.status, 400)
    }

    func testAdminRoutesAndCORS() throws {
        let routes = [Route("POST", "/admin/thing", admin: true) { request, _ in .json(["admin": .bool(request.isAdmin)]) }]
        let open = handler(routes)
        XCTAssertEqual(answer(open, HTTPRequest(method: "POST", path: "/admin/thing"))?.status, 200, "loopback without a token")
        XCTAssertEqual(answer(open, HTTPRequest(method: "POST", path: "/admin/thing", isFromLoopback: false))?.status, 403)
        let guarded = handler(routes, token: "s3cret")
        XCTAssertEqual(answer(guarded, HTTPRequest(method: "POST", path: "/admin/thing"))?.status, 401)
        XCTAssertEqual(answer(guarded, HTTPRequest(method: "POST", path: "/admin/thing", headers: ["authorization": "Bearer nope"]))?.status, 403)
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
