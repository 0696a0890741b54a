import Synchronization

/// Idle libcurl handles with their open connections: a call borrows one and gives it back, so connections to
/// the LLM endpoint are reused across calls instead of paying a TCP and TLS handshake each time.
final class CurlHandlePool: @unchecked Sendable {
    private let idle = Mutex<[CurlHandle]>([])
    private let maximumIdle: Int

    init(maximumIdle: Int) { self.maximumIdle = maximumIdle }

    /// Runs `body` with a handle; nil when no handle can be made.
    func withHandle<R>(_ body: (CurlHandle) -> R) -> R? {
        let borrowed = idle.withLock { $0.popLast() }
        guard let handle = borrowed ?? CurlHandle() else { return nil }
        let result = body(handle)
        // Kept for the next call while there is room; otherwise released here, closing its connection.
        idle.withLock { handles in if handles.count < maximumIdle { handles.append(handle) } }
        return result
    }
}
