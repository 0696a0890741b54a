import Foundation
import XCTest
@testable import Server
import TestSupport

/// The web console's files are served by the server itself, with a policy that forbids inline script.
final class ConsoleAssetsTests: XCTestCase {
    func testTheConsoleIsServedWithItsSecurityHeadersAndRevalidated() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = server.client()
        let page = try client.request("GET", "/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.header("content-type"), "text/html; charset=utf-8")
        let policy = try XCTUnwrap(page.header("content-security-policy"))
        XCTAssertTrue(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"), policy)
        XCTAssertTrue(policy.contains("frame-ancestors 'none'"), policy)
        XCTAssertEqual(page.header("x-content-type-options"), "nosniff")
        XCTAssertTrue(page.text.contains("/console/app.js"))
        XCTAssertFalse(page.text.contains("<script>"), "no inline script")

        // Every file the page and the modules reference is served, from this server.
        let app = try client.request("GET", "/console/app.js")
        XCTAssertEqual(app.status, 200)
        XCTAssertEqual(app.header("content-type"), "text/javascript; charset=utf-8")
        let etag = try XCTUnwrap(app.header("etag"))
        XCTAssertEqual(try client.request("GET", "/console/app.js", headers: ["If-None-Match": etag]).status, 304)
        XCTAssertEqual(try client.request("GET", "/console/app.js", headers: ["If-None-Match": "\"other\""]).status, 200)
        XCTAssertEqual(try client.request("GET", "/console/style.css").header("content-type"), "text/css; charset=utf-8")
        XCTAssertEqual(try client.request("GET", "/console/missing.js").status, 404)
        XCTAssertEqual(try client.request("GET", "/console/../Package.swift").status, 404)
        XCTAssertEqual(try client.request("POST", "/").status, 405)
    }

    func testOnlyPlainFilesOfKnownTypesAreServed() {
        XCTAssertTrue(ConsoleAssets.isServable("app.js"))
        XCTAssertTrue(ConsoleAssets.isServable("icon.svg"))
        XCTAssertFalse(ConsoleAssets.isServable(".hidden.js"))
        XCTAssertFalse(ConsoleAssets.isServable("notes.txt"))
        XCTAssertFalse(ConsoleAssets.isServable("a/b.js"))
    }
}
