import CMicroHTTPD
import Foundation

/// A response body written over time, for Server-Sent Events: whoever holds the stream writes to it from any
/// thread; the daemon sends what was written as the socket takes it and, while there is nothing to send, parks
/// the connection (suspended in libmicrohttpd: no thread is held, nothing polls). A write wakes it.
///
/// A client that stops reading cannot make the server hold unbounded memory: past `maximumPending` unsent bytes
/// the stream ends (a reconnecting client catches up with `Last-Event-ID`).
public final class ResponseStream: @unchecked Sendable {
    /// Unsent bytes beyond which the stream gives up on its client.
    public let maximumPending: Int
    private let lock = NSLock()
    private var pending: [UInt8] = []
    /// How much of `pending` was sent already (compacted when it grows).
    private var sent = 0
    private var finished = false
    /// The connection gone: writes are refused.
    private var closed = false
    /// The connection, while it is parked waiting for bytes.
    private var parked: OpaquePointer?

    public init(maximumPending: Int = 1 << 20) {
        self.maximumPending = maximumPending
    }

    /// Queues `bytes` for the client. False when the stream is over (the client left, or fell too far behind,
    /// or `finish` was called): the writer should forget it.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        lock.lock()
        guard !closed, !finished else {
            lock.unlock()
            return false
        }
        if pending.count - sent + bytes.count > maximumPending {
            finished = true
        } else {
            pending.append(contentsOf: bytes)
        }
        let wake = parked
        parked = nil
        let accepted = !finished
        lock.unlock()
        if let wake { MHD_resume_connection(wake) }
        return accepted
    }

    /// Ends the response after what was written.
    public func finish() {
        lock.lock()
        finished = true
        let wake = parked
        parked = nil
        lock.unlock()
        if let wake { MHD_resume_connection(wake) }
    }

    /// Whether the client is gone or the stream ended.
    public var isOver: Bool {
        lock.lock()
        defer { lock.unlock() }
        return closed || finished
    }

    // MARK: The daemon's side

    /// libmicrohttpd wants up to `capacity` bytes for `connection`: the bytes copied, 0 after parking the
    /// connection (nothing to send yet), or -1 at the end of the stream. Called on the connection's I/O thread.
    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int, connection: OpaquePointer) -> Int {
        lock.lock()
        defer { lock.unlock() }
        let available = pending.count - sent
        if available > 0 {
            let count = min(available, capacity)
            pending.withUnsafeBytes { bytes in
                UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + sent, byteCount: count)
            }
            sent += count
            if sent == pending.count {
                pending.removeAll(keepingCapacity: pending.capacity <= 64 << 10)
                sent = 0
            } else if sent >= 64 << 10 && sent * 2 >= pending.count {
                // A client a little behind all the time: drop what was sent, or the buffer only ever grows.
                pending.removeFirst(sent)
                sent = 0
            }
            return count
        }
        if finished { return -1 }
        // Suspending from the content reader is allowed; a write resumes it (after this, under the lock).
        parked = connection
        MHD_suspend_connection(connection)
        return 0
    }

    /// The response was destroyed: the connection closed.
    func connectionClosed() {
        lock.lock()
        closed = true
        parked = nil
        pending = []
        lock.unlock()
    }
}
