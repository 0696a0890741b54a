import Foundation
import Support

/// A Server-Sent Events subscriber over a real loopback socket: sends `GET path`, checks the answer is an event
/// stream, then decodes its chunked body into events as they arrive.
public final class EventStreamClient {
    /// One event as received.
    public struct Event: Equatable {
        public var id: Int64?
        public var name: String
        public var data: String
        public var json: JSONValue? { try? JSONParser.parse(Array(data.utf8)) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let status: Int
    public let headers: [String: String]
    private let socket: Int32
    /// Bytes received and not yet decoded (chunked framing).
    private var raw: [UInt8] = []
    /// Decoded body text not yet parsed into events.
    private var text: [UInt8] = []
    /// Comment lines seen (`: keep-alive`).
    public private(set) var comments = 0

    /// Connects from `source` (any 127.x.y.z) and subscribes.
    public init(port: UInt16, path: String = "/api/events", headers extra: [String: String] = [:], source: String? = nil) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        self.socket = socket
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            _ = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "connect: \(String(cString: strerror(errno)))")
        }
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        for (name, value) in extra { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        _ = Array(request.utf8).withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        // The head.
        let deadline = Date().addingTimeInterval(10)
        var headEnd: Range<Int>?
        var received: [UInt8] = []
        while headEnd == nil {
            guard EventStreamClient.receive(socket, into: &received, until: deadline) else {
                close(socket)
                throw Failure(description: "no answer to \(path)")
            }
            headEnd = received.firstRange(of: Array("\r\n\r\n".utf8))
        }
        let head = String(decoding: received[..<headEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.headers = headers
        raw = Array(received[headEnd!.upperBound...])
    }

    deinit { close(socket) }

    /// Closes the connection (the server notices at its next write).
    public func disconnect() { shutdown(socket, Int32(SHUT_RDWR)) }

    /// The next event, waiting up to `timeout` seconds.
    public func next(timeout: TimeInterval = 10) throws -> Event {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let event = parseEvent() { return event }
            decodeChunks()
            if let event = parseEvent() { return event }
            guard EventStreamClient.receive(socket, into: &raw, until: deadline) else {
                throw Failure(description: "no event within \(timeout) s")
            }
        }
    }

    /// Events until one satisfies `predicate` (returned with those before it), within `timeout` seconds.
    public func events(until predicate: (Event) -> Bool, timeout: TimeInterval = 10) throws -> [Event] {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [Event] = []
        while true {
            let event = try next(timeout: max(0.01, deadline.timeIntervalSinceNow))
            seen.append(event)
            if predicate(event) { return seen }
        }
    }

    /// Whether the server ended the stream (the terminating chunk or a closed connection) within `timeout`.
    public func waitForEnd(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if raw.firstRange(of: Array("0\r\n\r\n".utf8)) != nil { return true }
            var probe: [UInt8] = []
            if !EventStreamClient.receive(socket, into: &probe, until: deadline) { return probe.isEmpty && Date() < deadline }
            raw += probe
        }
        return false
    }

    /// Moves complete chunks from `raw` to `text`.
    private func decodeChunks() {
        while let lineEnd = raw.firstRange(of: [0x0D, 0x0A]) {
            let sizeText = String(decoding: raw[..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { return }
            let start = lineEnd.upperBound
            guard raw.count >= start + size + 2 else { return }
            text += raw[start..<start + size]
            raw.removeFirst(start + size + 2)
        }
    }

    /// One complete event from `text`, skipping comments and bare `retry:` blocks.
    private func parseEvent() -> Event? {
        while let end = text.firstRange(of: [0x0A, 0x0A]) {
            let block = String(decoding: text[..<end.lowerBound], as: UTF8.self)
            text.removeFirst(end.upperBound)
            var event = Event(id: nil, name: "message", data: "")
            var hasData = false
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") { comments += 1; continue }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let field = line[..<colon]
                var value = line[line.index(after: colon)...]
                if value.hasPrefix(" ") { value = value.dropFirst() }
                switch field {
                case "id": event.id = Int64(value)
                case "event": event.name = String(value)
                case "data": event.data += (hasData ? "\n" : "") + value; hasData = true
                default: break
                }
            }
            if hasData { return event }
        }
        return nil
    }

    /// Reads what arrives before `deadline`; false when nothing did (timeout or closed).
    private static func receive(_ socket: Int32, into buffer: inout [UInt8], until deadline: Date) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, deadline.timeIntervalSinceNow * 1000))
        guard poll(&descriptor, 1, milliseconds) > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return false }
        buffer += chunk[0..<count]
        return true
    }
}
