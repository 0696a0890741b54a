import XCTest
@testable import Server

/// The Host header's checks (RFC 9112 §3.2, RFC 3986's host syntax), without sockets: ASCII values take a
/// byte-level path, anything else the general one; both say the same.
final class HostHeaderTests: XCTestCase {
    func testHostValues() {
        for valid in ["example.com", "example.com:8080", "EXAMPLE.com:", "127.0.0.1", "127.0.0.1:5000", "[::1]", "[::1]:5000",
                      "[2001:db8::7]", " spaced.example ", "a-b_c.example", "localhost:65535"] {
            XCTAssertTrue(RequestFraming.isValidHost(valid), valid)
            XCTAssertTrue(RequestFraming.isValidHost(valid + "\u{00A0}"), "\(valid) + NBSP (trimmed, the general path)")
        }
        for invalid in ["", "   ", ":80", "exa mple.com", "host:abc", "host:123456", "[::1", "[]", "[::1]x", "[::1]:x",
                        "[g::1]", "host/path", "host@x", "hös.example", "host:80:80x", "[::1]:123456"] {
            XCTAssertFalse(RequestFraming.isValidHost(invalid), invalid)
        }
        XCTAssertFalse(RequestFraming.isValidHost(String(repeating: "a", count: 1025)))
    }
}
