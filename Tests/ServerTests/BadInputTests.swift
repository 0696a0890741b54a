import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport

/// Bad input gets a clear 4xx naming the problem, never a 5xx, and leaves stored tickets intact.
final class BadInputTests: XCTestCase {
    private var server: TestServer!
    private var client: TestHTTPClient!

    override func setUpWithError() throws {
        server = try TestServer { $0.http.maximumBodyBytes = 64 * 1024 }
        client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "the first ticket"]).status, 201)
    }

    override func tearDown() {
        // Whatever was thrown at it, the first ticket is intact and the server still answers.
        if let check = try? server.client().request("GET", "/api/messages/1") {
            XCTAssertEqual(check.json?["message"], "the first ticket")
        } else {
            XCTFail("the server stopped answering")
        }
        server.stop()
    }

    private func assertError(_ response: TestHTTPClient.Response, _ status: Int, _ message: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(response.status, status, response.text, file: file, line: line)
        XCTAssertEqual(response.json?["error"]?.stringValue, message, file: file, line: line)
    }

    private func send(_ body: String, type: String = "application/json") throws -> TestHTTPClient.Response {
        try client.request("POST", "/api/messages/send", body: Array(body.utf8), headers: ["Content-Type": type])
    }

    func testMalformedJSON() throws {
        assertError(try send("{\"user_id\": 1, \"message\": "), 400, "malformed JSON body: unexpected end of JSON at byte 26")
        assertError(try send("[1, 2]"), 400, "the JSON body must be an object")
        assertError(try send("{\"user_id\": 1, \"message\": \"x\"} trailing"), 400,
                    "malformed JSON body: unexpected text after the JSON value at byte 31")
        assertError(try send(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)), 400,
                    "malformed JSON body: nested deeper than 64 levels at byte 64")
    }

    func testMissingAndWronglyTypedFields() throws {
        assertError(try send("{}"), 400, "user_id is required")
        assertError(try send("{\"user_id\": 1}"), 400, "message is required")
        assertError(try send("{\"user_id\": \"abc\", \"message\": \"x\"}"), 400, "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": 0, \"message\": \"x\"}"), 400, "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": -5, \"message\": \"x\"}"), 400, "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": 1.5, \"message\": \"x\"}"), 400, "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": 99999999999999999999, \"message\": \"x\"}"), 400,
                    "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": true, \"message\": \"x\"}"), 400, "user_id must be a positive integer that fits in 64 bits")
        assertError(try send("{\"user_id\": 1, \"message\": 5}"), 400, "message must be a string")
        assertError(try send("{\"user_id\": 1, \"message\": \"   \\n\\t \"}"), 400, "message must not be empty")
        assertError(try send("{\"user_id\": 1, \"message\": \"a\\u0000b\"}"), 400, "message must not contain NUL")
        assertError(try send("{\"user_id\": 1, \"message\": \"\(String(repeating: "x", count: 20_001))\"}"), 400,
                    "message is too long: 20001 characters, at most 20000")
    }

    func testInvalidUTF8() throws {
        let body: [UInt8] = Array("{\"user_id\": 1, \"message\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        assertError(try client.request("POST", "/api/messages/send", body: body, headers: ["Content-Type": "application/json"]),
                    400, "malformed JSON body: invalid UTF-8 at byte 27")
        assertError(try send("{\"user_id\": 1, \"message\": \"\\ud800 lone\"}"), 400,
                    "malformed JSON body: lone surrogate in \\u escape at byte 33")
        let form: [UInt8] = Array("user_id=1&message=%C3%28".utf8)
        assertError(try client.request("POST", "/api/messages/send", body: form, headers: ["Content-Type": "application/x-www-form-urlencoded"]),
                    400, "the form body is not valid URL encoding of UTF-8 text")
        assertError(try client.request("GET", "/api/messages?search=%FF%FE"), 400, "the query string is not valid UTF-8")
        assertError(try client.request("GET", "/api/messages?search=ab%00zz"), 400, "search must not contain NUL")
        assertError(try client.request("GET", "/api/messages?user_id=5%00x"), 400, "user_id must be a positive integer")
    }

    func testUnsupportedContentType() throws {
        assertError(try send("user_id=1", type: "text/plain"), 415,
                    "Content-Type must be application/json or application/x-www-form-urlencoded, got text/plain")
    }

    func testHugeBodiesAre413() throws {
        // A declared length over the limit is refused before the body is sent (curl's Expect: 100-continue).
        let declared = server.client()
        try declared.connect()
        try declared.send(Array("POST /api/messages/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 204800\r\nExpect: 100-continue\r\n\r\n".utf8))
        assertError(try declared.readResponse(), 413, "request body too large: 204800 bytes, at most 65536")
        // Without a Content-Length the body is counted as it arrives.
        let chunked = server.client()
        try chunked.connect()
        var request = Array("POST /api/messages/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
        for _ in 0..<20 { request += Array("1000\r\n".utf8) + [UInt8](repeating: 0x61, count: 4096) + Array("\r\n".utf8) }
        request += Array("0\r\n\r\n".utf8)
        try? chunked.send(request)
        assertError(try chunked.readResponse(), 413, "request body too large: 81920 bytes, at most 65536")
        XCTAssertEqual(try chunked.request("GET", "/api/health").status, 200)  // and the connection lives on
    }

    func testUnknownIdsAre404() throws {
        assertError(try client.request("GET", "/api/messages/999"), 404, "Message not found")
        assertError(try client.request("POST", "/api/messages/999/reply", json: ["agent_name": "a", "reply": "b"]), 404, "Message not found")
        assertError(try client.request("POST", "/api/messages/999/resolve"), 404, "Message not found")
        assertError(try client.request("POST", "/api/messages/999/assign", json: ["agent_name": "a"]), 404, "Message not found")
        assertError(try client.request("POST", "/api/messages/999/unassign"), 404, "Message not found")
        assertError(try client.request("GET", "/api/customers/999"), 404, "Customer not found")
        for path in ["/api/messages/0", "/api/messages/-1", "/api/messages/abc", "/api/messages/99999999999999999999", "/api/messages/1.5"] {
            XCTAssertEqual(try client.request("GET", path).status, 404, path)
        }
    }

    func testUnknownRoutesAndWrongMethods() throws {
        assertError(try client.request("GET", "/api/nothing"), 404, "not found: GET /api/nothing")
        let wrong = try client.request("DELETE", "/api/messages/1")
        assertError(wrong, 405, "method DELETE not allowed on /api/messages/1")
        XCTAssertEqual(wrong.header("allow"), "GET, HEAD, OPTIONS")
        XCTAssertEqual(try client.request("GET", "/api/messages/send").header("allow"), "POST, OPTIONS")
    }

    func testInvalidQueryValues() throws {
        assertError(try client.request("GET", "/api/messages?status=bogus"), 400, "status must be open, resolved or all")
        assertError(try client.request("GET", "/api/messages?sort=bogus"), 400, "sort must be urgency, time or due")
        assertError(try client.request("GET", "/api/messages?user_id=abc"), 400, "user_id must be a positive integer")
        assertError(try client.request("GET", "/api/messages?limit=0"), 400, "limit must be an integer from 1 to 1000")
        assertError(try client.request("GET", "/api/messages?limit=1001"), 400, "limit must be an integer from 1 to 1000")
        assertError(try client.request("GET", "/api/messages?since_id=-1"), 400, "since_id must be a non-negative integer")
        assertError(try client.request("GET", "/api/messages?cursor=garbage"), 400,
                    "cursor is not valid for this listing (take it from the Link header)")
    }

    func testHostileStringsAreStoredAsText() throws {
        for text in ["'); DELETE FROM messages; --", "<script>alert(1)</script>", "\u{202E}reversed", "🙏 \\u0000 \"quotes\"",
                     "a \"\u{301}x: a quote with a combining mark"] {
            let response = try client.request("POST", "/api/messages/send", json: ["user_id": 2, "message": .string(text)])
            XCTAssertEqual(response.status, 201, text)
            let id = try XCTUnwrap(response.json?["message_id"]?.doubleValue)
            XCTAssertEqual(try client.request("GET", "/api/messages/\(Int(id))").json?["message"]?.stringValue, text)
        }
        XCTAssertEqual(try client.request("GET", "/api/messages?search=%27%29%3B%20DELETE").json?.arrayValue?.count, 1)
        XCTAssertEqual(try client.request("GET", "/api/messages?search=%22%CC%81x").json?.arrayValue?.count, 1)
    }

    func testSlowClientsAreDropped() throws {
        server.stop()
        server = try TestServer { $0.http.connectionTimeout = 1 }
        client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "the first ticket"]).status, 201)
        let slow = server.client()
        try slow.connect()
        try slow.send(Array("POST /api/messages/send HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"user".utf8))
        XCTAssertTrue(slow.waitForClose(timeout: 20), "the silent connection should have been closed")
        XCTAssertEqual(try server.client().request("GET", "/api/health").status, 200)
    }
}
