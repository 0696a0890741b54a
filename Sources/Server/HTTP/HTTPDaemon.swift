import CMicroHTTPD
import Foundation
import Synchronization

/// How the HTTP daemon listens and what it tolerates.
public struct HTTPOptions: Sendable, Equatable {
    public var host = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var port: UInt16 = 5000
    /// Threads that do network I/O (epoll). Handlers must not block them: slow work answers later.
    public var ioThreads = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// Threads that run handlers that may block (reads, imports): a slow request holds one of them, nothing else.
    public var workerThreads = 32
    /// Threads that score while the LLM step may wait on a model, apart from `workerThreads`.
    public var llmWorkerThreads = 64
    /// Requests waiting for a worker before new ones get 503.
    public var workerQueue = 4096
    /// Largest request body; more gets 413.
    public var maximumBodyBytes = 1 << 20
    /// Seconds a connection may stay silent before it is dropped (slow clients).
    public var connectionTimeout = 30
    public var connectionLimit = 1024
    /// 0: no per-client limit.
    public var perClientConnectionLimit = 0

    public init() {}
}

/// One finished request, for the request log.
public struct RequestLogEntry: Sendable {
    public var method: String
    public var path: String
    public var status: Int
    public var duration: Double  // seconds
    public var client: String
}

/// Answers one request, exactly once, from any thread.
public typealias HTTPRespond = @Sendable (HTTPResponse) -> Void

/// What the daemon hands requests to.
public protocol HTTPHandler: AnyObject, Sendable {
    /// Called on an I/O thread with a complete request. Answers at once (calling `respond` before returning)
    /// when that is cheap; otherwise hands the work elsewhere and calls `respond` later from any thread,
    /// while the connection waits suspended. Must not block.
    func handle(_ request: HTTPRequest, respond: @escaping HTTPRespond)
    /// Called once per finished request.
    func completed(_ entry: RequestLogEntry)
}

/// Why the daemon did not start.
public struct HTTPDaemonError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// libmicrohttpd behind a small Swift type: epoll I/O threads that read requests and write responses, answers
/// that may come later from any thread (the connection waits suspended, so a slow request stalls nothing
/// else), body limits, and a graceful shutdown that lets in-flight requests finish.
public final class HTTPDaemon: @unchecked Sendable {
    public let options: HTTPOptions
    /// The port actually bound.
    public private(set) var port: UInt16 = 0
    private var daemon: OpaquePointer?
    private let handler: HTTPHandler
    private let active = Atomic<Int>(0)
    /// Set by `shutdown`: requests that begin after it are turned away, so the ones in flight can drain.
    private let draining = Atomic<Bool>(false)
    private var address: SocketAddress?

    public init(options: HTTPOptions, handler: HTTPHandler) throws(HTTPDaemonError) {
        self.options = options
        self.handler = handler
        guard let address = SocketAddress(host: options.host, port: options.port) else {
            throw HTTPDaemonError(message: "cannot listen on '\(options.host)': not an IPv4 or IPv6 address")
        }
        self.address = address
        let context = Unmanaged.passUnretained(self).toOpaque()
        var flags = uiq_mhd_flag_epoll() | uiq_mhd_flag_suspend_resume()
        if address.isIPv6 { flags |= uiq_mhd_flag_ipv6() }
        daemon = address.withSockaddr { sockaddr in
            var config = uiq_mhd_config(
                flags: flags, port: options.port, address: sockaddr, threads: UInt32(max(1, options.ioThreads)),
                connection_limit: UInt32(options.connectionLimit), connection_timeout: UInt32(options.connectionTimeout),
                connection_memory_limit: 64 * 1024, per_ip_connection_limit: UInt32(options.perClientConnectionLimit),
                listen_backlog: 1024, handler: accessHandler, handler_context: context,
                completed: completedHandler, completed_context: context)
            return uiq_mhd_start(&config)
        }
        guard let daemon else {
            throw HTTPDaemonError(message: "cannot listen on \(options.host):\(options.port) (\(String(cString: strerror(errno))))")
        }
        port = uiq_mhd_port(daemon)
    }

    /// Stops accepting connections, turns away requests that begin from now on (503, connection closed), waits
    /// up to `timeout` seconds for the requests in flight to be answered, then stops.
    public func shutdown(timeout: Double = 30) {
        guard let daemon else { return }
        draining.store(true, ordering: .releasing)
        let listener = MHD_quiesce_daemon(daemon)
        if listener >= 0 { close(listener) }
        let deadline = Date().addingTimeInterval(timeout)
        while active.load(ordering: .acquiring) > 0 && Date() < deadline { usleep(5_000) }
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    /// Requests received and not finished yet.
    public var requestsInFlight: Int { active.load(ordering: .relaxed) }

    // MARK: - libmicrohttpd callbacks

    /// One call of MHD's access handler (several per request: headers, body chunks, the final call).
    fileprivate func access(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                            uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
                            context: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let pointer = context.pointee else {
            // First call: headers are in. Answer later (answering now costs the keep-alive).
            let state = RequestState(method: method.map { String(cString: $0) } ?? "GET",
                                     path: url.map { String(cString: $0) } ?? "/")
            state.readHeaders(connection)
            context.pointee = Unmanaged.passRetained(state).toOpaque()
            active.add(1, ordering: .relaxed)
            if draining.load(ordering: .acquiring) {
                state.rejected = true
                return queue(connection, state, .error(503, "the server is shutting down", headers: [("Connection", "close")]))
            }
            if let length = state.headers["content-length"].flatMap(Int.init), length > options.maximumBodyBytes {
                return reject(connection, state, tooLarge: length)
            }
            return .YES
        }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeUnretainedValue()
        if uploadSize.pointee > 0 {
            let size = uploadSize.pointee
            uploadSize.pointee = 0
            if state.rejected { return .YES }
            state.received += size
            if state.received <= options.maximumBodyBytes, let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
                }
            } else if state.received > 4 * options.maximumBodyBytes {
                return reject(connection, state, tooLarge: state.received)  // stop reading: answer and close
            }
            return .YES
        }
        if state.rejected { return .YES }
        if state.received > options.maximumBodyBytes {  // drained an oversized body: answer, keep the connection
            state.body = []
            return queue(connection, state, HTTPResponse.error(413, tooLargeMessage(state.received)))
        }
        if state.phase.load(ordering: .acquiring) == RequestState.answered, let response = state.response {
            return queue(connection, state, response)  // answered synchronously, or later and we were resumed
        }
        guard state.phase.load(ordering: .acquiring) == RequestState.receiving else { return .YES }
        state.phase.store(RequestState.handling, ordering: .releasing)
        let handle = ConnectionHandle(raw: connection)
        handler.handle(state.request(connection)) { response in
            state.response = response
            // handling → answered: the handler answered before returning; we queue it below.
            // suspended → answered: we are suspended; wake the connection so MHD calls us to queue it.
            if state.phase.exchange(RequestState.answered, ordering: .acquiringAndReleasing) == RequestState.suspended {
                MHD_resume_connection(handle.raw)
            }
        }
        if state.phase.load(ordering: .acquiring) == RequestState.answered, let response = state.response {
            return queue(connection, state, response)
        }
        // The answer comes later. Suspend first, then publish it, so that an answer arriving in between is
        // not lost: if it arrived already, resume at once and MHD calls us back to queue it.
        MHD_suspend_connection(connection)
        let (exchanged, _) = state.phase.compareExchange(expected: RequestState.handling, desired: RequestState.suspended,
                                                          ordering: .acquiringAndReleasing)
        if !exchanged { MHD_resume_connection(connection) }
        return .YES
    }

    /// Answers 413 right away: the rest of the body is not read, and the connection closes after the answer.
    /// (Used when the declared length is too large, which lets `Expect: 100-continue` clients skip sending it,
    /// and when an undeclared body runs far past the limit.)
    private func reject(_ connection: OpaquePointer, _ state: RequestState, tooLarge size: Int) -> MHD_Result {
        state.rejected = true
        return queue(connection, state, HTTPResponse.error(413, tooLargeMessage(size)))
    }

    private func tooLargeMessage(_ size: Int) -> String {
        "request body too large: \(size) bytes, at most \(options.maximumBodyBytes)"
    }

    private func queue(_ connection: OpaquePointer, _ state: RequestState, _ response: HTTPResponse) -> MHD_Result {
        state.status = response.status
        let created = response.body.withUnsafeBytes { bytes in uiq_mhd_response_copying(bytes.count, bytes.baseAddress) }
        guard let created else { return .NO }
        for (name, value) in response.headers { MHD_add_response_header(created, name, value) }
        let result = MHD_queue_response(connection, UInt32(response.status), created)
        MHD_destroy_response(created)
        return result
    }

    fileprivate func completed(_ context: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        guard let context, let pointer = context.pointee else { return }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeRetainedValue()
        context.pointee = nil
        active.subtract(1, ordering: .relaxed)
        let duration = Double(DispatchTime.now().uptimeNanoseconds - state.started) / 1e9
        handler.completed(RequestLogEntry(method: state.method, path: state.path, status: state.status ?? 0,
                                          duration: duration, client: state.clientAddress))
    }
}

/// A connection pointer travelling to a worker and back (MHD allows resuming from any thread).
private struct ConnectionHandle: @unchecked Sendable { let raw: OpaquePointer }

private let accessHandler: MHD_AccessHandlerCallback = { context, connection, url, method, _, uploadData, uploadSize, requestContext in
    guard let context, let connection, let uploadSize, let requestContext else { return .NO }
    let daemon = Unmanaged<HTTPDaemon>.fromOpaque(context).takeUnretainedValue()
    return daemon.access(connection, url: url, method: method, uploadData: uploadData, uploadSize: uploadSize,
                         context: requestContext)
}

private let completedHandler: MHD_RequestCompletedCallback = { context, _, requestContext, _ in
    guard let context else { return }
    Unmanaged<HTTPDaemon>.fromOpaque(context).takeUnretainedValue().completed(requestContext)
}

/// What the daemon knows about one request while MHD calls back about it.
private final class RequestState: @unchecked Sendable {
    let method: String
    let path: String
    var headers: [String: String] = [:]
    var query: [(name: String, value: String)] = []
    var body: [UInt8] = []
    /// Body bytes received (kept or discarded).
    var received = 0
    var clientAddress = "?"
    var isFromLoopback = false
    var queryIsValidUTF8 = true
    let started = DispatchTime.now().uptimeNanoseconds
    /// Set when the answer was given early (413): later calls only drain.
    var rejected = false
    /// The answer, set once by whoever answers.
    var response: HTTPResponse?
    /// receiving → handling → (suspended →) answered.
    let phase = Atomic<Int>(RequestState.receiving)
    static let receiving = 0, handling = 1, suspended = 2, answered = 3
    var status: Int?

    init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    func readHeaders(_ connection: OpaquePointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        MHD_get_connection_values(connection, .HEADER_KIND, { context, _, key, value in
            guard let context, let key else { return .YES }
            let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
            let name = String(decoding: UnsafeRawBufferPointer(start: key, count: strlen(key)), as: UTF8.self).lowercased()
            let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? ""
            state.headers[name] = state.headers[name].map { $0 + ", " + text } ?? text
            return .YES
        }, me)
        if let address = uiq_mhd_client_address(connection) {
            let client = SocketAddress(address)
            clientAddress = client?.description ?? "?"
            isFromLoopback = client?.isLoopback ?? false
        }
    }

    func request(_ connection: OpaquePointer) -> HTTPRequest {
        let me = Unmanaged.passUnretained(self).toOpaque()
        query = []
        MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, { context, _, key, value in
            guard let context, let key else { return .YES }
            let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
            guard let name = RequestState.validText(key), let text = value.map(RequestState.validText) ?? "" else {
                state.queryIsValidUTF8 = false
                return .YES
            }
            state.query.append((name, text))
            return .YES
        }, me)
        var request = HTTPRequest(method: method, path: path, query: query, headers: headers, body: body,
                                  isFromLoopback: isFromLoopback, clientAddress: clientAddress)
        request.queryIsValidUTF8 = queryIsValidUTF8
        return request
    }

    /// C text as Swift text, or nil when it is not UTF-8.
    static func validText(_ pointer: UnsafePointer<CChar>) -> String? {
        String(validating: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }
}
