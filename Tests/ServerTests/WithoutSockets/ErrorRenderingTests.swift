import RulesEngine
import Support
import XCTest
@testable import Server

/// Every error a route can meet answers for itself: status, headers and body, from one place.
final class ErrorRenderingTests: XCTestCase {
    private func body(_ response: HTTPResponse) -> JSONValue? { try? JSONParser.parse(response.body) }

    func testStoreFailuresAreRetryable() {
        let response = HTTPResponse(rendering: StoreError("disk I/O error"))
        XCTAssertEqual(response.status, 503)
        XCTAssertEqual(response.header("retry-after"), "1")
        XCTAssertEqual(body(response), ["error": "storage unavailable: try again shortly"], "the driver's text goes to the log")
    }

    func testRuleFilesThatDoNotLoadSayWhere() {
        let response = HTTPResponse(rendering: RulesError(kind: .syntax, file: "urgency.lua", line: 3, message: "unexpected symbol"))
        XCTAssertEqual(response.status, 422)
        XCTAssertEqual(body(response), ["error": "urgency.lua:3: unexpected symbol", "kind": "syntax", "file": "urgency.lua", "line": 3])
        XCTAssertEqual(body(HTTPResponse(rendering: RulesError(kind: .missingEntry, message: "no urgency.lua"))),
                       ["error": "no urgency.lua", "kind": "missingEntry", "file": nil, "line": nil])
    }

    func testTheAPIsOwnRefusals() {
        XCTAssertEqual(HTTPResponse(rendering: HTTPError.badRequest("limit must be …")).status, 400)
        XCTAssertEqual(HTTPResponse(rendering: HTTPError.notFound("Message not found")).status, 404)
        XCTAssertEqual(HTTPResponse(rendering: HTTPError.conflict("no seed file")).status, 409)
        XCTAssertEqual(HTTPResponse(rendering: HTTPError.unsupportedMediaType("text/plain")).status, 415)
        let busy = HTTPResponse(rendering: HTTPError.busy("try again", retryAfter: 2))
        XCTAssertEqual(busy.status, 503)
        XCTAssertEqual(busy.header("retry-after"), "2")
        let timeout = HTTPResponse(rendering: HTTPError.unprocessable("the check ran out of time", kind: "timeout"))
        XCTAssertEqual(timeout.status, 422)
        XCTAssertEqual(body(timeout), ["error": "the check ran out of time", "kind": "timeout"])
        XCTAssertEqual(timeout.header("content-type"), "application/json")
    }

    func testAnythingElseIsAServerBugNotAClientError() {
        struct Unexpected: Error {}
        XCTAssertEqual(HTTPResponse(rendering: Unexpected()).status, 500)
        XCTAssertEqual(HTTPResponse.catching { throw StoreError("gone") }.status, 503)
        XCTAssertEqual(HTTPResponse.catching { .json(["ok": true]) }.status, 200)
    }
}
