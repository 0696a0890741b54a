import Foundation
import Synchronization

/// Connections for reads (and the writes that are not queued), shared by the request threads: at most `size`
/// open at once; a caller waits up to `acquireTimeout` for one. A connection that lost its server is thrown
/// away, and a read that hit a dead idle connection (PostgreSQL restarted) is retried once on a new one, so
/// the server reconnects by itself when PostgreSQL is back.
final class PostgresPool: Sendable {
    private let url: String
    private let idle = Mutex<[PostgresConnection]>([])
    private let slots: DispatchSemaphore
    private let acquireTimeout: TimeInterval
    /// Set while PostgreSQL cannot be reached, so the outage and the recovery are each logged once.
    private let unreachable = Atomic<Bool>(false)

    init(url: String, size: Int, acquireTimeout: TimeInterval = 5) {
        self.url = url
        slots = DispatchSemaphore(value: size)
        self.acquireTimeout = acquireTimeout
    }

    /// Runs `body` on a connection, and once more on a fresh one when the connection turns out to be dead.
    /// Every caller's work is safe to repeat: reads, and writes that are idempotent (imports skip rows already
    /// present by their import key; score updates, settings and the fleet entry overwrite).
    @discardableResult
    func withConnection<T>(_ body: (PostgresConnection) throws(PostgresError) -> T) throws(StoreError) -> T {
        guard slots.wait(timeout: .now() + acquireTimeout) == .success else {
            throw StoreError("PostgreSQL: no free connection within \(Int(acquireTimeout)) s")
        }
        defer { slots.signal() }
        var attempts = 0
        while true {
            attempts += 1
            let connection: PostgresConnection
            if let reused = idle.withLock({ $0.popLast() }) {
                connection = reused
            } else {
                do {
                    connection = try PostgresConnection(url: url)
                } catch {
                    if !unreachable.exchange(true, ordering: .acquiringAndReleasing) {
                        OperationsLog.shared.report("store_outage", "PostgreSQL cannot be reached", [("detail", error.message)])
                    }
                    throw StoreError(error.message)
                }
                if unreachable.exchange(false, ordering: .acquiringAndReleasing) {
                    OperationsLog.shared.report("store_recovered", "PostgreSQL is reachable again", level: "info")
                }
            }
            do {
                let value = try body(connection)
                idle.withLock { $0.append(connection) }
                return value
            } catch {
                guard error.connectionLost || !connection.isHealthy else {
                    idle.withLock { $0.append(connection) }
                    throw StoreError("PostgreSQL: \(error.message)")
                }
                // The connection is dead; so are the other idle ones, most likely (a restart).
                idle.withLock { $0.removeAll() }
                guard attempts == 1 else { throw StoreError("PostgreSQL connection lost: \(error.message)") }
            }
        }
    }

    func close() { idle.withLock { $0.removeAll() } }
}
