import Foundation
import XCTest
@testable import Server

/// What the daemon reads from every request head by hand instead of through Foundation or `inet_ntop`: the
/// client's address as text and the headers' lower-cased names.
final class RequestHeadReadingTests: XCTestCase {
    /// IPv4 addresses read as `inet_ntop` writes them, over every octet width; IPv6 through `inet_ntop` itself.
    func testClientAddressesReadAsInetNtopWritesThem() throws {
        var octets: [UInt8] = [0, 1, 9, 10, 99, 100, 127, 199, 200, 255]
        octets += (0..<20).map { _ in UInt8.random(in: 0...255) }
        for (a, b) in zip(octets, octets.shuffled()) {
            for (c, d) in zip(octets.shuffled(), octets.shuffled()) {
                let text = "\(a).\(b).\(c).\(d)"
                let address = try XCTUnwrap(SocketAddress(host: text, port: 5000), text)
                XCTAssertEqual(address.description, text)
            }
        }
        for text in ["::1", "2001:db8::7", "fe80::1:2:3:4", "::ffff:127.0.0.1", "::"] {
            XCTAssertEqual(try XCTUnwrap(SocketAddress(host: text, port: 80)).description, text)
        }
    }

    /// Header names: ASCII letters lower-cased, everything else kept.
    func testHeaderNamesAreLowerCasedAsASCII() {
        for (name, expected) in [("Content-Length", "content-length"), ("X-API-KEY", "x-api-key"), ("host", "host"),
                                 ("If-None-Match_2", "if-none-match_2"), ("", ""), ("Ünïcode", "Ünïcode")] {
            let lowered = name.withCString { RequestState.lowercasedName($0) }
            XCTAssertEqual(lowered, expected, name)
        }
    }
}
