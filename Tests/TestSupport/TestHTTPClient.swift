import Foundation
import Support

/// A minimal HTTP/1.1 client over a real TCP socket on loopback, so tests control every byte they send
/// (invalid UTF-8, huge bodies, slow writes) and see exactly what the server answers.
public final class TestHTTPClient {
    public struct Response {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: JSONValue? { try? JSONParser.parse(body) }
        public func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    public struct Failure: Error, CustomStringConvertible {
        var message: String
        public var description: String { message }
    }

    public let port: UInt16
    /// The local address to connect from (any 127.x.y.z works on Linux loopback), or nil for the default.
    public let source: String?
    /// Seconds a read waits for the server before it fails.
    public var readTimeout = 30
    private var socket: Int32 = -1

    public init(port: UInt16, source: String? = nil) {
        self.port = port
        self.source = source
    }

    deinit { disconnect() }

    public func connect() throws {
        disconnect()
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0 else { throw Failure(message: "bind to \(source) failed: \(String(cString: strerror(errno)))") }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else { throw Failure(message: "connect failed: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The connected socket (-1 when not connected), for tests that write to it from another thread.
    public var descriptor: Int32 { socket }

    public func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
    }

    /// Sends a request (keeping the connection open) and reads the response.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:]) throws -> Response {
        if socket < 0 { try connect() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        var allHeaders = headers
        if let body { allHeaders["Content-Length"] = allHeaders["Content-Length"] ?? String(body.count) }
        for (name, value) in allHeaders { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        return try readResponse(method: method)
    }

    /// JSON body helper.
    public func request(_ method: String, _ path: String, json: JSONValue, headers: [String: String] = [:]) throws -> Response {
        var body: [UInt8] = []
        json.encode(into: &body)
        return try request(method, path, body: body, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a })
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(message: "send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Reads (and keeps) whatever the server sends until it closes the connection; whether it did within
    /// `timeout` seconds. A reset counts as closed.
    public func waitForClose(timeout: TimeInterval) -> Bool {
        guard socket >= 0 else { return true }
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                pending += chunk[0..<count]
            } else if count == 0 || errno != EAGAIN {
                return true
            }
        }
        return false
    }

    /// Bytes received and not yet read as a response.
    public var unread: [UInt8] { pending }

    /// What one raw exchange brought back.
    public struct Exchange {
        /// The responses, in order, each framed by its Content-Length.
        public var responses: [Response]
        /// Bytes after the last complete response (none, from a well-behaved server).
        public var rest: [UInt8]
        /// Whether the server closed the connection (within the timeout).
        public var closed: Bool
    }

    /// Sends `bytes` as they are on a fresh connection, then reads until the server closes it or `timeout`
    /// seconds pass.
    public func exchange(_ bytes: [UInt8], timeout: TimeInterval = 10) throws -> Exchange {
        try connect()
        try? send(bytes)  // the server may close before it read everything
        let closed = waitForClose(timeout: timeout)
        var rest = pending[...]
        var responses: [Response] = []
        while let end = rest.firstRange(of: Array("\r\n\r\n".utf8)) {
            let head = String(decoding: rest[..<end.lowerBound], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst().split(separator: " ")
            guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/"), let status = Int(statusLine[1]) else { break }
            var headers: [String: String] = [:]
            for line in lines {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            guard rest.distance(from: end.upperBound, to: rest.endIndex) >= length else { break }
            let bodyEnd = rest.index(end.upperBound, offsetBy: length)
            responses.append(Response(status: status, headers: headers, body: Array(rest[end.upperBound..<bodyEnd])))
            rest = rest[bodyEnd...]
        }
        disconnect()
        pending = []
        return Exchange(responses: responses, rest: Array(rest), closed: closed)
    }

    private var pending: [UInt8] = []

    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        pending += chunk[0..<count]
        return true
    }

    public func readResponse(method: String = "GET") throws -> Response {
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                pending.removeFirst(end.upperBound)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure(message: "bad status line") }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    let name = line[..<colon].lowercased()
                    headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = method == "HEAD" ? 0 : Int(headers["content-length"] ?? "0") ?? 0
                while pending.count < length { guard try fill() else { throw Failure(message: "connection closed mid-body") } }
                let body = Array(pending.prefix(length))
                pending.removeFirst(length)
                if headers["connection"]?.lowercased() == "close" {
                    disconnect()
                    pending = []
                }
                return Response(status: status, headers: headers, body: body)
            }
            guard try fill() else { throw Failure(message: "connection closed before a response") }
        }
    }
}
