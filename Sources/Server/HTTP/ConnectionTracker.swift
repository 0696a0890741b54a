import CMicroHTTPD
import Foundation
import Synchronization
import Support

/// One client connection as the daemon follows it: its socket, the I/O thread that serves it, and where it
/// stands between requests, so that deadlines libmicrohttpd does not enforce can be.
final class ConnectionRecord: @unchecked Sendable {
    enum Phase: Int {
        /// Accepted, no request line yet: the request head is due within the head deadline from the accept.
        case opened
        /// Between two requests of a kept-alive connection: the next request line is due within the idle timeout.
        case idle
        /// The request line arrived: the rest of the head is due within the head deadline.
        case head
        /// The head is in: the request is being read, handled or answered (libmicrohttpd's inactivity timeout).
        case busy
    }

    let connection: OpaquePointer
    let socket: Int32
    private let phaseValue = Atomic<Int>(Phase.opened.rawValue)
    /// When the current phase began (nanoseconds of uptime).
    private let sinceValue = Atomic<UInt64>(DispatchTime.now().uptimeNanoseconds)
    /// The I/O thread serving the connection (libmicrohttpd keeps a connection on one thread).
    let thread = Atomic<UInt>(0)

    init(connection: OpaquePointer, socket: Int32) {
        self.connection = connection
        self.socket = socket
    }

    var phase: Phase { Phase(rawValue: phaseValue.load(ordering: .acquiring)) ?? .busy }
    var since: UInt64 { sinceValue.load(ordering: .acquiring) }

    /// The request line arrived (called on the connection's thread).
    func requestLineReceived() {
        thread.store(UInt(bitPattern: Int(bitPattern: pthread_self())), ordering: .relaxed)
        // A new connection's deadline runs from its accept; a kept-alive one's from this request line.
        if phase == .idle { sinceValue.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing) }
        phaseValue.store(Phase.head.rawValue, ordering: .releasing)
    }

    /// The whole head arrived; the handler has the request.
    func headReceived() { phaseValue.store(Phase.busy.rawValue, ordering: .releasing) }

    /// The response went out; the connection waits for the next request.
    func requestCompleted() {
        sinceValue.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing)
        phaseValue.store(Phase.idle.rawValue, ordering: .releasing)
    }
}

/// Deadlines for the parts of a connection's life libmicrohttpd only bounds by inactivity, which a client
/// that trickles a byte now and then never trips:
/// - the request head (request line and headers) must arrive within `headTimeout` seconds (from the accept for
///   a new connection, from the request line on a kept-alive one), else the client gets 408 and is closed;
/// - a kept-alive connection waiting for its next request is closed after `idleTimeout` seconds.
/// When more than three quarters of the connection limit are in use, both shrink (to `pressureHeadTimeout` and
/// `pressureIdleTimeout`), so that slow and idle connections make room for new clients sooner.
///
/// Also answers for the daemon when libmicrohttpd 0.9.75 refuses a malformed `Content-Length` itself: that
/// version sends its error's header block twice, so the guard sends one well-formed answer first (see
/// `answerMalformedHead`).
final class ConnectionTracker: @unchecked Sendable {
    let headTimeout: Double
    let idleTimeout: Double
    let pressureIdleTimeout: Double
    let pressureHeadTimeout: Double
    let connectionLimit: Int
    private let records = Mutex<[UInt: ConnectionRecord]>([:])  // by connection address
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false

    init(headTimeout: Double, idleTimeout: Double, connectionLimit: Int) {
        self.headTimeout = headTimeout
        self.idleTimeout = idleTimeout
        pressureIdleTimeout = min(idleTimeout, 1)
        pressureHeadTimeout = min(headTimeout, 2)
        self.connectionLimit = connectionLimit
    }

    /// Starts the thread that enforces the deadlines.
    func start() {
        started = true
        let thread = Thread { [self] in
            nameCurrentThread("http-deadlines")
            while !stopping.load(ordering: .acquiring) {
                enforceDeadlines(now: DispatchTime.now().uptimeNanoseconds)
                usleep(100_000)
            }
            finished.signal()
        }
        thread.start()
    }

    func stop() {
        guard started, !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        finished.wait()
    }

    /// A connection was accepted; its record (kept until `closed`).
    func opened(_ connection: OpaquePointer) -> ConnectionRecord {
        let record = ConnectionRecord(connection: connection, socket: uiq_mhd_socket(connection))
        track(record)
        return record
    }

    /// Follows `record` until its connection closes.
    func track(_ record: ConnectionRecord) {
        records.withLock { $0[UInt(bitPattern: record.connection)] = record }
    }

    /// The connection is being closed (libmicrohttpd calls this before it closes the socket).
    func closed(_ connection: OpaquePointer) {
        _ = records.withLock { $0.removeValue(forKey: UInt(bitPattern: connection)) }
    }

    var openConnections: Int { records.withLock { $0.count } }

    /// Closes the connections past their deadline. The lock is held while a socket is shut down, so its
    /// descriptor cannot have been closed and reused meanwhile (`closed` needs the lock first).
    func enforceDeadlines(now: UInt64) {
        records.withLock { records in
            let underPressure = records.count * 4 > connectionLimit * 3
            let idleLimit = UInt64((underPressure ? pressureIdleTimeout : idleTimeout) * 1e9)
            let headLimit = UInt64((underPressure ? pressureHeadTimeout : headTimeout) * 1e9)
            for record in records.values {
                // A phase that began after `now` was read (on another thread, just now) is not late.
                let since = record.since
                let age = now > since ? now - since : 0
                switch record.phase {
                case .opened where age > headLimit, .head where age > headLimit:
                    ConnectionTracker.send(ConnectionTracker.timeoutAnswer, to: record.socket)
                    shutdown(record.socket, Int32(SHUT_RDWR))
                case .idle where age > idleLimit:
                    shutdown(record.socket, Int32(SHUT_RDWR))
                default:
                    break
                }
            }
        }
    }

    /// libmicrohttpd refuses a request whose `Content-Length` is not a number (400) or too large to represent
    /// (413) before the handler sees it, and 0.9.75 then writes its answer's header block twice. Called from its
    /// log message (on the thread of the connection it is refusing): finds that connection — the one of this
    /// thread whose head is complete but not yet handed to the handler — sends one well-formed answer and shuts
    /// the sending side, so the library's malformed copy is never sent. False when no single connection fits.
    func answerMalformedHead(status: Int, message: String) -> Bool {
        let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
        return records.withLock { records in
            let candidates = records.values.filter { record in
                record.phase == .head && record.thread.load(ordering: .relaxed) == thread
                    && uiq_mhd_head_received(record.connection) != 0
            }
            guard candidates.count == 1, let record = candidates.first else { return false }
            record.headReceived()
            let body = HTTPResponse.error(status, message).body
            let reason = status == 413 ? "Content Too Large" : "Bad Request"
            ConnectionTracker.send(Array("HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body,
                                   to: record.socket)
            shutdown(record.socket, Int32(SHUT_WR))
            return true
        }
    }

    /// What a client that did not finish its request head in time is told before the connection closes.
    static let timeoutAnswer: [UInt8] = {
        let body = HTTPResponse.error(408, "the request head did not arrive in time").body
        return Array("HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body
    }()

    /// Writes what the socket takes now, without waiting (the answer is small and the socket idle).
    private static func send(_ bytes: [UInt8], to socket: Int32) {
        _ = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
    }
}
