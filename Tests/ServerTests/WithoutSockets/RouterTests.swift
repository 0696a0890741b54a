import XCTest
@testable import Server

/// The router on its own (no daemon, no sockets): templates, ids, 404 against 405, HEAD, the Allow list.
final class RouterTests: XCTestCase {
    private func route(_ method: String, _ template: String) -> Route {
        Route(method, template, access: .open, handler: .immediate { _, _ in .json(["route": .string("\(method) \(template)")]) })
    }

    private lazy var router = Router([
        route("GET", "/api/messages"), route("POST", "/api/messages/send"), route("GET", "/api/messages/{id}"),
        route("POST", "/api/messages/{id}/reply"), route("DELETE", "/api/messages/{id}"),
    ])

    private func template(_ method: String, _ path: String) -> String? {
        if case .found(let route, _) = router.match(method: method, path: path) { return "\(route.method) \(route.template)" }
        return nil
    }

    func testFindsTheRouteAndItsIDs() {
        XCTAssertEqual(template("GET", "/api/messages"), "GET /api/messages")
        XCTAssertEqual(template("GET", "/api/messages/"), "GET /api/messages")
        XCTAssertEqual(template("POST", "/api/messages/send"), "POST /api/messages/send")
        guard case .found(_, let parameters) = router.match(method: "POST", path: "/api/messages/9223372036854775807/reply") else {
            return XCTFail("no match")
        }
        XCTAssertEqual(parameters.ids, [Int64.max])
        XCTAssertEqual(parameters.id, Int64.max)
    }

    func testAnIDIsAPlainPositiveIntegerThatFits() {
        for path in ["/api/messages/0", "/api/messages/-1", "/api/messages/+1", "/api/messages/9223372036854775808",
                     "/api/messages/1x", "/api/messages/١"] {
            guard case .notFound = router.match(method: "GET", path: path) else { return XCTFail(path) }
        }
        XCTAssertEqual(template("GET", "/api/messages/007"), "GET /api/messages/{id}")  // Int64("007") is 7
    }

    func testUnknownPathsAreNotFoundAndWrongMethodsAreNotAllowed() {
        guard case .notFound = router.match(method: "GET", path: "/api/nothing") else { return XCTFail() }
        guard case .notFound = router.match(method: "GET", path: "/api//messages") else { return XCTFail("empty segment") }
        guard case .methodNotAllowed(let allowed) = router.match(method: "PUT", path: "/api/messages/5") else { return XCTFail() }
        XCTAssertEqual(allowed, ["GET", "DELETE", "HEAD", "OPTIONS"])
        guard case .methodNotAllowed(let post) = router.match(method: "GET", path: "/api/messages/send") else { return XCTFail() }
        XCTAssertEqual(post, ["POST", "OPTIONS"])
    }

    func testHeadIsServedByGet() {
        XCTAssertEqual(template("HEAD", "/api/messages/3"), "GET /api/messages/{id}")
        guard case .methodNotAllowed = router.match(method: "HEAD", path: "/api/messages/send") else { return XCTFail() }
    }

    func testAllowedMethodsOfAPath() {
        XCTAssertEqual(router.allowedMethods(path: "/api/messages"), ["GET", "HEAD", "OPTIONS"])
        XCTAssertEqual(router.allowedMethods(path: "/api/nothing"), [])
    }
}
