import Foundation
import Synchronization
import Support

/// An OpenAI-compatible chat-completions server on a loopback port, scripted by the test: each request takes
/// the next behaviour from the script (or the default), and every request is recorded (method, path, headers,
/// body) so tests can assert the exact JSON and the Authorization header. Speaks HTTP/1.1 with keep-alive, and
/// counts connections and the most requests in flight at once.
public final class FakeOpenAIServer: @unchecked Sendable {
    /// How to answer one request.
    public indirect enum Behavior: Sendable {
        /// 200 with a chat completion whose message content is `content` (nil: JSON null).
        case reply(String?, finishReason: String = "stop")
        /// Any status with a JSON body and extra headers.
        case status(Int, body: String, headers: [String: String] = [:])
        /// 200 with this body, as is (invalid JSON, a wrong shape).
        case body(String)
        /// Waits, then behaves as `then`.
        case delay(TimeInterval, then: Behavior)
        /// Closes the connection without answering.
        case drop
    }

    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: [UInt8]
        /// Which accepted connection carried it (1, 2, …).
        public var connection: Int
        /// When it was read.
        public var receivedAt = Date()
        /// The user message of a chat completion (the prompt the rules built).
        public var prompt: String? { json?["messages"]?.arrayValue?.last?["content"]?.stringValue }
        public var json: JSONValue? { try? JSONParser.parse(body) }
    }

    private struct State {
        var script: [Behavior] = []
        var fallback: Behavior = .reply("3")
        var requests: [Request] = []
        var connections = 0
        var inFlight = 0
        var maximumInFlight = 0
        var open: [Int32] = []
    }

    public private(set) var port: UInt16 = 0
    private let listener: Int32
    private let state = Mutex(State())
    private let stopping = Atomic<Bool>(false)
    private let acceptor = DispatchGroup()

    /// Listens on `port` on loopback (0: a free one).
    public init(port requested: UInt16 = 0) throws {
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = requested.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(listener, pointer, length) == 0 && listen(listener, 128) == 0 && getsockname(listener, pointer, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw TestHTTPClient.Failure(message: "fake OpenAI server: cannot listen: \(String(cString: strerror(errno)))")
        }
        port = UInt16(bigEndian: address.sin_port)
        acceptor.enter()
        let thread = Thread { [self] in
            acceptLoop()
            acceptor.leave()
        }
        thread.name = "fake-openai"
        thread.start()
    }

    /// The API root to configure as LLM_BASE_URL.
    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Answers the next requests with `behaviors`, in order; then the default.
    public func script(_ behaviors: Behavior...) { state.withLock { $0.script += behaviors } }

    /// How requests are answered once the script is used up.
    public func answerByDefault(_ behavior: Behavior) { state.withLock { $0.fallback = behavior } }

    public var requests: [Request] { state.withLock { $0.requests } }
    public var connections: Int { state.withLock { $0.connections } }
    public var maximumInFlight: Int { state.withLock { $0.maximumInFlight } }
    /// Requests being answered right now.
    public var inFlight: Int { state.withLock { $0.inFlight } }

    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        acceptor.wait()
        close(listener)
        state.withLock { state in for socket in state.open { shutdown(socket, Int32(SHUT_RDWR)) } }
    }

    deinit { stop() }

    private func acceptLoop() {
        while !stopping.load(ordering: .acquiring) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            let number = state.withLock { state -> Int in
                state.connections += 1
                state.open.append(connection)
                return state.connections
            }
            let thread = Thread { [self] in
                serve(connection, number: number)
                state.withLock { $0.open.removeAll { $0 == connection } }
                close(connection)
            }
            thread.start()
        }
    }

    /// Answers requests on one connection until the client closes it or a behaviour drops it.
    private func serve(_ connection: Int32, number: Int) {
        var pending: [UInt8] = []
        while !stopping.load(ordering: .acquiring) {
            guard let request = readRequest(connection, &pending, number: number) else { return }
            let behavior = state.withLock { state -> Behavior in
                state.requests.append(request)
                state.inFlight += 1
                state.maximumInFlight = max(state.maximumInFlight, state.inFlight)
                return state.script.isEmpty ? state.fallback : state.script.removeFirst()
            }
            let keepOpen = answer(connection, behavior)
            state.withLock { $0.inFlight -= 1 }
            if !keepOpen { return }
        }
    }

    /// Sends the answer; false when the connection is to be closed.
    private func answer(_ connection: Int32, _ behavior: Behavior) -> Bool {
        switch behavior {
        case .reply(let content, let finishReason):
            let message: JSONValue = ["role": "assistant", "content": content.map(JSONValue.string) ?? .null]
            let completion: JSONValue = [
                "id": "chatcmpl-test", "object": "chat.completion", "created": 1_764_000_000, "model": "fake",
                "choices": [["index": 0, "message": message, "finish_reason": .string(finishReason)]],
                "usage": ["prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11],
            ]
            return write(connection, status: 200, body: completion.jsonText, headers: [:])
        case .status(let code, let body, let headers):
            return write(connection, status: code, body: body, headers: headers)
        case .body(let body):
            return write(connection, status: 200, body: body, headers: [:])
        case .delay(let seconds, let then):
            let until = Date().addingTimeInterval(seconds)
            while Date() < until, !stopping.load(ordering: .acquiring) { usleep(5_000) }
            return answer(connection, then)
        case .drop:
            return false
        }
    }

    private func write(_ connection: Int32, status: Int, body: String, headers: [String: String]) -> Bool {
        var head = "HTTP/1.1 \(status) Fake\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n" + body).utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { return false }
            offset += sent
        }
        return true
    }

    private func readRequest(_ connection: Int32, _ pending: inout [UInt8], number: Int) -> Request? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return false }
            pending += chunk[0..<count]
            return true
        }
        while true {
            if let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                pending.removeFirst(end.upperBound)
                var lines = head.components(separatedBy: "\r\n")
                let requestLine = lines.removeFirst().split(separator: " ")
                guard requestLine.count >= 2 else { return nil }
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while pending.count < length { guard fill() else { return nil } }
                let body = Array(pending.prefix(length))
                pending.removeFirst(length)
                return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body,
                               connection: number)
            }
            guard fill() else { return nil }
        }
    }
}
