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
    /// A body over the limit is read and thrown away up to this many bytes before the 413, so that a client
    /// that writes its whole body before reading (Python's http.client, requests) reads the answer; a declared
    /// length beyond it is refused at once and the connection closed.
    public var discardBodyBytes = 64 << 20
    /// Seconds a kept-alive connection may wait for its next request, and a busy one may stay silent.
    public var connectionTimeout = 30
    /// Seconds within which a request's head (request line and headers) must arrive.
    public var headerTimeout = 10
    public var connectionLimit = 1024
    /// Connections one client address may hold at once; 0: no per-client limit.
    public var perClientConnectionLimit = 64
    /// Let several processes listen on the same port (SO_REUSEPORT); otherwise a port in use is an error.
    public var reusePort = false

    public init() {}
}

/// One finished request, for the request log.
public struct RequestLogEntry: Sendable {
    public var method: String
    public var path: String
    public var status: Int
    public var duration: Double  // seconds
    public var client: String
    /// What the handler returned for the request (the API: which route answered it), or -1 when it never reached
    /// the handler (refused by the framing checks).
    public var tag: Int = -1
}

/// Answers one request, exactly once, from any thread.
public typealias HTTPRespond = @Sendable (HTTPResponse) -> Void

/// What the daemon hands requests to.
public protocol HTTPHandler: AnyObject, Sendable {
    /// Called on an I/O thread with a complete request. Answers at once (calling `respond` before returning)
    /// when that is cheap; otherwise hands the work elsewhere and calls `respond` later from any thread,
    /// while the connection waits suspended. Must not block. Returns a tag the daemon hands back in the request's
    /// log entry (so the handler need not work out again what it already knew, e.g. the route).
    @discardableResult
    func handle(_ request: HTTPRequest, respond: @escaping HTTPRespond) -> Int
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
/// else), request framing checked as RFC 9112 asks (`RequestFraming`), body limits, deadlines for slow clients
/// (`ConnectionTracker`), and a graceful shutdown that lets in-flight requests finish.
public final class HTTPDaemon: @unchecked Sendable {
    /// The libmicrohttpd library's version (`0.9.75`).
    static var libraryVersion: String { MHD_get_version().map { String(cString: $0) } ?? "unknown" }

    public let options: HTTPOptions
    /// The port actually bound.
    public private(set) var port: UInt16 = 0
    private var daemon: OpaquePointer?
    private let handler: HTTPHandler
    private let tracker: ConnectionTracker
    private let active = Atomic<Int>(0)
    /// Set by `shutdown`: requests that begin after it are turned away, so the ones in flight can drain.
    private let draining = Atomic<Bool>(false)
    /// What the daemon was started with; libmicrohttpd's logger reads it for the daemon's whole life.
    private let config = UnsafeMutablePointer<uiq_mhd_config>.allocate(capacity: 1)

    public init(options: HTTPOptions, handler: HTTPHandler) throws(HTTPDaemonError) {
        self.options = options
        self.handler = handler
        tracker = ConnectionTracker(headTimeout: Double(options.headerTimeout), idleTimeout: Double(options.connectionTimeout),
                                    connectionLimit: options.connectionLimit)
        guard let address = SocketAddress(host: options.host, port: options.port) else {
            throw HTTPDaemonError(message: "cannot listen on '\(options.host)': not an IPv4 or IPv6 address")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        var flags = uiq_mhd_flag_epoll() | uiq_mhd_flag_suspend_resume() | uiq_mhd_flag_error_log()
        if address.isIPv6 { flags |= uiq_mhd_flag_ipv6() }
        let started = address.withSockaddr { sockaddr -> OpaquePointer? in
            config.initialize(to: uiq_mhd_config(
                flags: flags, port: options.port, address: sockaddr, threads: UInt32(max(1, options.ioThreads)),
                connection_limit: UInt32(options.connectionLimit), connection_timeout: UInt32(options.connectionTimeout),
                connection_memory_limit: 64 * 1024, per_ip_connection_limit: UInt32(options.perClientConnectionLimit),
                listen_backlog: 1024,
                // -1: refuse whitespace between a header name and its colon (RFC 9112 5.1). (+1 would also refuse
                // HTTP/1.1 without Host, but 0.9.75 then sends its error twice: the handler checks Host instead.)
                strictness: -1, reuse_address: options.reusePort ? 1 : 0,
                handler: accessHandler, handler_context: context, completed: completedHandler, completed_context: context,
                request_line: requestLineHandler, request_line_context: context,
                connection_event: connectionEventHandler, connection_event_context: context,
                log: libraryLogHandler, log_context: context))
            return uiq_mhd_start(config)
        }
        guard let started else {
            let reason = errno == EADDRINUSE ? "address already in use" : String(cString: strerror(errno))
            throw HTTPDaemonError(message: "cannot listen on \(options.host):\(options.port): \(reason)")
        }
        daemon = started
        port = uiq_mhd_port(started)
        tracker.start()
    }

    deinit {
        if let daemon { MHD_stop_daemon(daemon) }
        tracker.stop()
        config.deallocate()  // (initialized or not: the pointee is plain C data)
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
        tracker.stop()
        MHD_stop_daemon(daemon)
        self.daemon = nil
    }

    /// Connections open right now.
    public var openConnections: Int { tracker.openConnections }

    // MARK: - libmicrohttpd callbacks

    /// A connection was accepted or is about to be closed.
    fileprivate func connectionEvent(_ connection: OpaquePointer, _ socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                     started: Bool) {
        if started {
            socketContext.pointee = Unmanaged.passRetained(tracker.opened(connection)).toOpaque()
        } else {
            tracker.closed(connection)
            if let pointer = socketContext.pointee { Unmanaged<ConnectionRecord>.fromOpaque(pointer).release() }
            socketContext.pointee = nil
        }
    }

    /// The request line arrived: the request's state begins (libmicrohttpd hands it back to every later call).
    fileprivate func requestLine(_ connection: OpaquePointer, target: UnsafePointer<CChar>?) -> UnsafeMutableRawPointer {
        record(of: connection)?.requestLineReceived()
        let text = target.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: min(strlen($0), 2048)), as: UTF8.self) } ?? "/"
        return Unmanaged.passRetained(RequestState(target: text)).toOpaque()
    }

    private func record(of connection: OpaquePointer) -> ConnectionRecord? {
        uiq_mhd_socket_context(connection).map { Unmanaged<ConnectionRecord>.fromOpaque($0).takeUnretainedValue() }
    }

    /// One of libmicrohttpd's own messages: the only ones acted on are its refusals of a malformed Content-Length.
    fileprivate func libraryMessage(format: String) {
        guard format.contains("Content-Length") && format.contains("Closing connection") else { return }
        let tooLarge = format.hasPrefix("Too large")
        _ = tracker.answerMalformedHead(
            status: tooLarge ? 413 : 400,
            message: tooLarge ? "Content-Length is larger than any body this server accepts"
                : "Content-Length must be one non-negative integer")
    }

    /// One call of MHD's access handler (several per request: the head, body chunks, the final call).
    fileprivate func access(_ connection: OpaquePointer, url: UnsafePointer<CChar>?, method: UnsafePointer<CChar>?,
                            version: UnsafePointer<CChar>?, uploadData: UnsafePointer<CChar>?, uploadSize: UnsafeMutablePointer<Int>,
                            context: UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> MHD_Result {
        guard let pointer = context.pointee else { return .NO }  // the request-line callback always sets it
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeUnretainedValue()
        if !state.headSeen { return head(connection, state, url: url, method: method, version: version) }
        if uploadSize.pointee > 0 {
            let size = uploadSize.pointee
            uploadSize.pointee = 0
            if state.rejected { return .YES }
            state.received += size
            if state.received <= options.maximumBodyBytes, let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: size) {
                    state.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: size))
                }
            } else if state.received > options.discardBodyBytes {
                return .NO  // past what is worth reading to answer: close the connection
            } else {
                state.discarding = true
                state.body = []
            }
            return .YES
        }
        if state.rejected { return .YES }
        if state.discarding {  // read the whole oversized body: answer, and keep the connection
            return queue(connection, state, HTTPResponse.error(413, tooLargeMessage(state.received)))
        }
        if state.phase.load(ordering: .acquiring) == RequestState.answered, let response = state.response {
            return queue(connection, state, response)  // answered synchronously, or later and we were resumed
        }
        guard state.phase.load(ordering: .acquiring) == RequestState.receiving else { return .YES }
        state.phase.store(RequestState.handling, ordering: .releasing)
        let handle = ConnectionHandle(raw: connection)
        state.tag = handler.handle(state.request(connection)) { response in
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

    /// The first call: the head is complete. Checks its framing and size before any body is read. (Answering
    /// now costs the keep-alive, so a request that is fine is answered on a later call.)
    private func head(_ connection: OpaquePointer, _ state: RequestState, url: UnsafePointer<CChar>?,
                      method: UnsafePointer<CChar>?, version: UnsafePointer<CChar>?) -> MHD_Result {
        state.headSeen = true
        active.add(1, ordering: .relaxed)
        record(of: connection)?.headReceived()
        state.method = method.map { String(cString: $0) } ?? "GET"
        state.readHeaders(connection)
        if draining.load(ordering: .acquiring) {
            return refuse(connection, state, .error(503, "the server is shutting down"))
        }
        let target = url.map { String(cString: $0) } ?? "/"
        switch RequestFraming.check(method: state.method, target: target, version: version.map { String(cString: $0) } ?? "",
                                    headers: state.headers) {
        case .refuse(let status, let message):
            return refuse(connection, state, .error(status, message))
        case .accept(let path, let length):
            state.path = path
            if let length, length > options.maximumBodyBytes {
                // Read and drop the body, then answer, so that clients that write it all first read the 413;
                // unless it is beyond what is worth reading, or the client waits to be told (100-continue).
                let waitsForContinue = state.headers["expect"]?.lowercased() == "100-continue"
                if length > options.discardBodyBytes || waitsForContinue {
                    return refuse(connection, state, .error(413, tooLargeMessage(length)))
                }
                state.discarding = true
            }
            return .YES
        }
    }

    /// Answers right away; the body (if any) is not read and the connection closes after the answer.
    private func refuse(_ connection: OpaquePointer, _ state: RequestState, _ response: HTTPResponse) -> MHD_Result {
        state.rejected = true
        var response = response
        response.addHeader("Connection", "close")
        return queue(connection, state, response)
    }

    private func tooLargeMessage(_ size: Int) -> String {
        "request body too large: \(size) bytes, at most \(options.maximumBodyBytes)"
    }

    private func queue(_ connection: OpaquePointer, _ state: RequestState, _ response: HTTPResponse) -> MHD_Result {
        state.status = response.status
        let created: OpaquePointer?
        if let stream = response.stream {
            let context = Unmanaged.passRetained(StreamContext(stream: stream, connection: connection)).toOpaque()
            created = MHD_create_response_from_callback(UInt64.max /* MHD_SIZE_UNKNOWN: chunked */, 16 << 10,
                                                        streamReader, context, streamReleased)
            if created == nil { Unmanaged<StreamContext>.fromOpaque(context).release() }
        } else {
            created = response.body.withUnsafeBytes { bytes in uiq_mhd_response_copying(bytes.count, bytes.baseAddress) }
        }
        guard let created else { return .NO }
        for (name, value) in response.headers { MHD_add_response_header(created, name, value) }
        let result = MHD_queue_response(connection, UInt32(response.status), created)
        MHD_destroy_response(created)
        return result
    }

    fileprivate func completed(_ connection: OpaquePointer?, _ context: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        if let connection { record(of: connection)?.requestCompleted() }
        guard let context, let pointer = context.pointee else { return }
        let state = Unmanaged<RequestState>.fromOpaque(pointer).takeRetainedValue()
        context.pointee = nil
        if state.headSeen { active.subtract(1, ordering: .relaxed) }
        // Refused by libmicrohttpd itself (a malformed head) or cut off: its status, if it queued one.
        let status = state.status ?? connection.map { Int(uiq_mhd_status($0)) } ?? 0
        let duration = Double(DispatchTime.now().uptimeNanoseconds - state.started) / 1e9
        handler.completed(RequestLogEntry(method: state.method, path: state.headSeen ? state.path : state.target,
                                          status: status, duration: duration, client: state.clientAddress, tag: state.tag))
    }
}

/// What a streamed response's callbacks get: the stream and the connection it is sent on.
private final class StreamContext {
    let stream: ResponseStream
    let connection: OpaquePointer
    init(stream: ResponseStream, connection: OpaquePointer) {
        self.stream = stream
        self.connection = connection
    }
}

private let streamReader: MHD_ContentReaderCallback = { context, _, buffer, capacity in
    guard let context, let buffer else { return -1 }
    let stream = Unmanaged<StreamContext>.fromOpaque(context).takeUnretainedValue()
    return stream.stream.read(into: buffer, capacity: capacity, connection: stream.connection)
}

private let streamReleased: MHD_ContentReaderFreeCallback = { context in
    guard let context else { return }
    Unmanaged<StreamContext>.fromOpaque(context).takeRetainedValue().stream.connectionClosed()
}

/// A connection pointer travelling to a worker and back (MHD allows resuming from any thread).
private struct ConnectionHandle: @unchecked Sendable { let raw: OpaquePointer }

private func daemon(_ context: UnsafeMutableRawPointer) -> HTTPDaemon {
    Unmanaged<HTTPDaemon>.fromOpaque(context).takeUnretainedValue()
}

private let accessHandler: MHD_AccessHandlerCallback = { context, connection, url, method, version, uploadData, uploadSize, requestContext in
    guard let context, let connection, let uploadSize, let requestContext else { return .NO }
    return daemon(context).access(connection, url: url, method: method, version: version, uploadData: uploadData,
                                  uploadSize: uploadSize, context: requestContext)
}

private let completedHandler: MHD_RequestCompletedCallback = { context, connection, requestContext, _ in
    guard let context else { return }
    daemon(context).completed(connection, requestContext)
}

private let requestLineHandler: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? = {
    context, target, connection in
    guard let context, let connection else { return nil }
    return daemon(context).requestLine(connection, target: target)
}

private let connectionEventHandler: MHD_NotifyConnectionCallback = { context, connection, socketContext, event in
    guard let context, let connection, let socketContext else { return }
    daemon(context).connectionEvent(connection, socketContext, started: event.rawValue == 0 /* MHD_CONNECTION_NOTIFY_STARTED */)
}

private let libraryLogHandler: uiq_mhd_log_fn = { context, format, _ in
    guard let context, let format else { return }
    daemon(context).libraryMessage(format: String(cString: format))
}
