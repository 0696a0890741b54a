import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport

/// RFC 9112 where it matters for safety, over raw sockets: a request whose body length is ambiguous is refused
/// with one well-formed answer and its connection closed (so no second request is read from its bytes), an
/// unknown transfer coding is 501 at once, absolute-form targets are served, HTTP/1.1 needs one valid Host.
final class ProtocolStrictnessTests: XCTestCase {
    private var server: TestServer!

    override func setUpWithError() throws { server = try TestServer() }
    override func tearDown() { server.stop() }

    private func exchange(_ text: String) throws -> TestHTTPClient.Exchange {
        try server.client().exchange(Array(text.utf8))
    }

    /// Exactly one response with `status` and a JSON error, nothing after it, and the connection closed.
    private func assertRefused(_ request: String, _ status: Int, containing message: String,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try exchange(request)
        XCTAssertEqual(result.responses.map(\.status), [status], "\(request.debugDescription): \(result)", file: file, line: line)
        XCTAssertEqual(result.rest, [], "bytes after the answer: \(String(decoding: result.rest, as: UTF8.self))", file: file, line: line)
        XCTAssertTrue(result.closed, "the connection must be closed", file: file, line: line)
        let error = result.responses.first?.json?["error"]?.stringValue ?? ""
        XCTAssertTrue(error.contains(message), "\(error)", file: file, line: line)
    }

    private static let score = #"{"message": "hello"}"#

    func testContentLengthWithTransferEncodingIsRefusedAndNothingIsSmuggled() throws {
        // The trailing GET would be a second request if the chunked body were believed over Content-Length.
        try assertRefused("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60\r\n"
                          + "Transfer-Encoding: chunked\r\n\r\n14\r\n\(Self.score)\r\n0\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n",
                          400, containing: "both Content-Length and Transfer-Encoding")
    }

    func testDifferingContentLengthsAreRefused() throws {
        try assertRefused("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n"
                          + "Content-Length: 5\r\n\r\n\(Self.score)", 400, containing: "Content-Length must be one non-negative integer")
        // The same value twice is one length (RFC 9110 8.6).
        let repeated = try exchange("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n"
                                    + "Content-Length: 20\r\nConnection: close\r\n\r\n\(Self.score)")
        XCTAssertEqual(repeated.responses.map(\.status), [200])
    }

    func testAContentLengthThatIsNotAPlainIntegerGetsOneWellFormed400() throws {
        for value in ["-1", "+20", "0x14", "2e1", "20 20", "twenty", "20;"] {
            try assertRefused("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(value)\r\n\r\n\(Self.score)",
                              400, containing: "Content-Length must be one non-negative integer")
        }
        try assertRefused("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                          413, containing: "Content-Length is larger than any body")
        // The server goes on answering.
        XCTAssertEqual(try server.client().request("GET", "/api/health").status, 200)
    }

    func testUnknownTransferCodingsAre501AtOnce() throws {
        for coding in ["xchunked", "gzip, chunked", "chunked, chunked", "identity"] {
            // Answered at once: the exchange gives up after 10 s, far below the 30 s a silent server would take.
            try assertRefused("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: \(coding)\r\n\r\n"
                              + "14\r\n\(Self.score)\r\n0\r\n\r\n", 501, containing: "Transfer-Encoding")
        }
        // chunked itself works, in any letter case.
        let chunked = try exchange("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: Chunked\r\n"
                                   + "Connection: close\r\n\r\n14\r\n\(Self.score)\r\n0\r\n\r\n")
        XCTAssertEqual(chunked.responses.map(\.status), [200])
    }

    func testAbsoluteFormTargetsAreServed() throws {
        let port = server.port
        let health = try exchange("GET http://127.0.0.1:\(port)/api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(health.responses.first?.json, ["status": "ok"])
        // The authority stands in for Host; the query string is read as usual.
        let listing = try exchange("GET HTTP://localhost:\(port)/api/messages?limit=0 HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(listing.responses.first?.json?["error"], "limit must be an integer from 1 to 1000")
        let root = try exchange("GET http://127.0.0.1:\(port) HTTP/1.1\r\nConnection: close\r\n\r\n")
        XCTAssertEqual(root.responses.first?.status, 200, "the root path: the web console")
        XCTAssertEqual(root.responses.first?.header("content-type"), "text/html; charset=utf-8")
    }

    func testHTTP11NeedsExactlyOneValidHost() throws {
        try assertRefused("GET /api/health HTTP/1.1\r\n\r\n", 400, containing: "needs a Host header")
        try assertRefused("GET /api/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, containing: "Host header must be one")
        try assertRefused("GET /api/health HTTP/1.1\r\nHost: a b\r\n\r\n", 400, containing: "Host header must be one")
        try assertRefused("GET /api/health HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, containing: "Host header must be one")
        for host in ["localhost", "127.0.0.1:5000", "[::1]:5000", "api.example.com"] {
            let ok = try exchange("GET /api/health HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            XCTAssertEqual(ok.responses.map(\.status), [200], host)
        }
        // HTTP/1.0 has no Host requirement.
        XCTAssertEqual(try exchange("GET /api/health HTTP/1.0\r\n\r\n").responses.map(\.status), [200])
    }

    func testOtherRequestTargetsAndHeaderSyntaxAreRefused() throws {
        try assertRefused("GET api/health HTTP/1.1\r\nHost: x\r\n\r\n", 400, containing: "request target")
        // Whitespace between a header name and its colon (RFC 9112 5.1): libmicrohttpd refuses it itself.
        let spaced = try exchange("POST /api/score HTTP/1.1\r\nHost: x\r\nContent-Length : 20\r\n\r\n\(Self.score)")
        XCTAssertEqual(spaced.responses.map(\.status), [400])
        XCTAssertTrue(spaced.closed)
    }

    func testWellFormedRequestsKeepTheConnection() throws {
        let client = server.client()
        for _ in 0..<3 { XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hello"]).status, 200) }
        let result = try client.exchange(Array(("GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n"
                                                + "GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").utf8))
        XCTAssertEqual(result.responses.map(\.status), [200, 200], "pipelined requests on one connection")
        XCTAssertNil(result.responses[0].header("connection"), "the first answer keeps the connection")
    }
}

/// Requests that need no socket: the framing rules themselves.
final class RequestFramingTests: XCTestCase {
    private func check(_ headers: [String: String], target: String = "/api/score", version: String = "HTTP/1.1")
        -> RequestFraming.Verdict {
        RequestFraming.check(method: "POST", target: target, version: version, headers: headers)
    }

    func testFramingVerdicts() {
        XCTAssertEqual(check(["host": "x", "content-length": "20"]), .accept(path: "/api/score", contentLength: 20))
        XCTAssertEqual(check(["host": "x", "content-length": "20, 20"]), .accept(path: "/api/score", contentLength: 20))
        XCTAssertEqual(check(["host": "x", "content-length": "007"]), .accept(path: "/api/score", contentLength: 7))
        XCTAssertEqual(check(["host": "x", "transfer-encoding": "chunked"]), .accept(path: "/api/score", contentLength: nil))
        guard case .refuse(400, _) = check(["host": "x", "content-length": "20, 21"]) else { return XCTFail() }
        guard case .refuse(400, _) = check(["host": "x", "content-length": ""]) else { return XCTFail() }
        guard case .refuse(400, _) = check(["host": "x", "content-length": "1", "transfer-encoding": "chunked"]) else { return XCTFail() }
        guard case .refuse(501, _) = check(["host": "x", "transfer-encoding": "compress"]) else { return XCTFail() }
        guard case .refuse(400, _) = check([:]) else { return XCTFail() }
        XCTAssertEqual(check([:], version: "HTTP/1.0"), .accept(path: "/api/score", contentLength: nil))
        XCTAssertEqual(check([:], target: "http://h:1/a/b"), .accept(path: "/a/b", contentLength: nil))
        guard case .refuse(400, _) = check(["host": "x"], target: "http:///a") else { return XCTFail() }
    }

    func testAbsoluteFormPaths() {
        XCTAssertEqual(RequestFraming.pathOfAbsoluteForm("http://127.0.0.1:5000/api/health"), "/api/health")
        XCTAssertEqual(RequestFraming.pathOfAbsoluteForm("HTTPS://example.com"), "/")
        XCTAssertNil(RequestFraming.pathOfAbsoluteForm("/api/health"))
        XCTAssertNil(RequestFraming.pathOfAbsoluteForm("ftp://example.com/x"))
    }

    func testHostValues() {
        for good in ["a", "a.b-c_d~e", "127.0.0.1", "127.0.0.1:80", "[::1]", "[fe80::1]:8080", "xn--bcher-kva.example"] {
            XCTAssertTrue(RequestFraming.isValidHost(good), good)
        }
        for bad in ["", "a, b", "a b", "a/b", "a:port", ":80", "[::1", "[::1]x", "a@b", "a:123456"] {
            XCTAssertFalse(RequestFraming.isValidHost(bad), bad)
        }
    }
}
