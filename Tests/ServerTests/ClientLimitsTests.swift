import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport

/// One client cannot deny service to the others: a limit on connections per client address, a deadline for
/// the request head that trickling bytes cannot stretch, idle keep-alive connections closed, and an oversized
/// body answered with a 413 that a client writing its whole body first can still read.
final class ClientLimitsTests: XCTestCase {
    private var server: TestServer?

    override func tearDown() { server?.stop() }

    private func start(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) throws -> TestServer {
        let started = try TestServer(configure: configure)
        server = started
        return started
    }

    /// Raises the open-file limit to what the system allows (the test opens thousands of sockets).
    private func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// A non-blocking connection from `source` to the server (nil when the system refuses one more socket).
    private func openConnection(from source: String, port: UInt16) -> Int32? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard socket >= 0 else { return nil }
        var local = sockaddr_in(), remote = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = port.bigEndian
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        _ = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return socket
    }

    func testTwoThousandTricklingConnectionsFromOneAddressLeaveOthersServed() throws {
        raiseFileLimit()
        let server = try start()
        let port = server.port
        let attackers = (0..<2000).compactMap { _ in openConnection(from: "127.0.0.2", port: port) }
        defer { attackers.forEach { close($0) } }
        XCTAssertGreaterThan(attackers.count, 1500)
        let stop = Atomic<Bool>(false)
        let trickler = Thread {
            var round = 0
            while !stop.load(ordering: .acquiring) {
                let line = Array((round == 0 ? "GET /api/health HTTP/1.1\r\n" : "X-Slow-\(round): 1\r\n").utf8)
                for socket in attackers { _ = line.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
                round += 1
                usleep(200_000)
            }
        }
        trickler.start()
        defer { stop.store(true, ordering: .releasing) }
        // Throughout the attack (several trickle rounds), a client from another address is answered within 1 s.
        for attempt in 0..<25 {
            let client = TestHTTPClient(port: port, source: "127.0.0.1")
            client.readTimeout = 1
            let response = try client.request("GET", "/api/health")
            XCTAssertEqual(response.status, 200, "attempt \(attempt)")
            XCTAssertLessThanOrEqual(server.server.openConnections, server.server.configuration.http.perClientConnectionLimit + 2,
                                     "one address holds at most its limit")
            usleep(100_000)
        }
    }

    func testTheRequestHeadHasADeadlineThatTricklingCannotStretch() throws {
        let server = try start {
            $0.http.headerTimeout = 1
            $0.http.connectionTimeout = 120
        }
        // A header line every 200 ms keeps the connection active, so only the head deadline can end it.
        let slow = server.client()
        try slow.connect()
        try slow.send(Array("GET /api/health HTTP/1.1\r\n".utf8))
        let socket = slow.descriptor
        let sender = Thread {
            for index in 0..<200 {
                let line = Array("X-Slow-\(index): 1\r\n".utf8)
                guard line.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) > 0 else { return }
                usleep(200_000)
            }
        }
        sender.start()
        XCTAssertTrue(slow.waitForClose(timeout: 30), "closed by the head deadline, long before the 120 s idle timeout")
        XCTAssertTrue(String(decoding: slow.unread, as: UTF8.self).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"),
                      String(decoding: slow.unread, as: UTF8.self))
        // A connection that never sends anything is closed by the same deadline.
        let silent = server.client()
        try silent.connect()
        XCTAssertTrue(silent.waitForClose(timeout: 30))
        XCTAssertEqual(try server.client().request("GET", "/api/health").status, 200)
    }

    func testAnIdleKeptAliveConnectionIsClosed() throws {
        let server = try start {
            $0.http.headerTimeout = 60
            $0.http.connectionTimeout = 1
        }
        let client = server.client()
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200)
        XCTAssertTrue(client.waitForClose(timeout: 30))
        XCTAssertEqual(client.unread, [], "closed quietly, without an answer")
    }

    func testAnOversizedBodyWrittenWholeStillGetsItsAnswer() throws {
        let server = try start()
        let limit = server.server.configuration.http.maximumBodyBytes
        // Like Python's http.client: write the whole 11 MB body, only then read.
        let client = server.client()
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: 11_000_000)
        let response = try client.request("POST", "/api/messages/send", body: body, headers: ["Content-Type": "application/json"])
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.json?["error"]?.stringValue, "request body too large: 11000000 bytes, at most \(limit)")
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200, "and the connection lives on")
        XCTAssertEqual(try client.request("GET", "/api/messages?status=all").header("x-total-count"), "0")
    }

    func testABodyBeyondWhatIsWorthReadingIsRefusedAtOnce() throws {
        let server = try start {
            $0.http.maximumBodyBytes = 64 * 1024
            $0.http.discardBodyBytes = 1 << 20
        }
        // Declared beyond the discard bound: answered before the body, and the connection closed.
        let result = try server.client().exchange(Array(
            "POST /api/messages/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{".utf8))
        XCTAssertEqual(result.responses.map(\.status), [413])
        XCTAssertTrue(result.closed)
        // Sent chunked, past the bound: the server stops reading and closes.
        let chunked = server.client()
        try chunked.connect()
        try chunked.send(Array("POST /api/messages/send HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".utf8))
        let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: 0x61, count: 65536) + Array("\r\n".utf8)
        for _ in 0..<40 { guard (try? chunked.send(chunk)) != nil else { break } }
        XCTAssertTrue(chunked.waitForClose(timeout: 30))
        XCTAssertEqual(try server.client().request("GET", "/api/health").status, 200)
    }
}

/// The deadline keeper on its own, with a socket pair standing in for a client connection.
final class ConnectionTrackerTests: XCTestCase {
    func testDeadlinesCountFromWhenAPhaseBeganEvenIfThatIsAfterTheClockWasRead() throws {
        var pair: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair), 0)
        defer { close(pair[0]); close(pair[1]) }
        let tracker = ConnectionTracker(headTimeout: 10, idleTimeout: 30, connectionLimit: 1024)
        let record = ConnectionRecord(connection: OpaquePointer(bitPattern: 0x1000)!, socket: pair[0])
        tracker.track(record)
        // The reaper read its clock just before this connection's phase began: not late, not closed.
        tracker.enforceDeadlines(now: record.since - 1)
        var byte: UInt8 = 0
        XCTAssertEqual(recv(pair[1], &byte, 1, Int32(MSG_DONTWAIT)), -1, "nothing sent")
        XCTAssertEqual(errno, EAGAIN)
        // Past the head deadline: 408, then closed.
        tracker.enforceDeadlines(now: record.since + 11_000_000_000)
        var answer = [UInt8](repeating: 0, count: 4096)
        let count = recv(pair[1], &answer, answer.count, 0)
        XCTAssertTrue(String(decoding: answer.prefix(max(0, count)), as: UTF8.self).hasPrefix("HTTP/1.1 408 Request Timeout"))
        XCTAssertEqual(recv(pair[1], &byte, 1, 0), 0, "then the end of the stream")
    }
}
