import Foundation
import Support
import Synchronization

/// Whether API keys are in use on the store: once any key has been created (revoked and expired ones count), a
/// loopback server in `AUTH=auto` needs keys and stays that way, so that revoking or outliving the last key
/// never opens it again. Read at start, again at once after this server creates a key, and every second (keys
/// made by another server of the fleet or by `urgencyiq keys`). A failed read counts as "in use": the safe side.
final class KeysInUse: @unchecked Sendable {
    private let store: any AccessStore
    /// Read on every request without credentials: an atomic, not a lock.
    private let inUse: Atomic<Bool>
    private let lock = NSLock()
    private var refresher: RepeatingWorker?

    init(store: any AccessStore) {
        self.store = store
        inUse = Atomic((try? store.hasAnyAPIKeys()) ?? true)
    }

    /// Whether keys are in use (as of the last read).
    var value: Bool { inUse.load(ordering: .relaxed) }

    /// Reads it again.
    func refresh() { inUse.store((try? store.hasAnyAPIKeys()) ?? true, ordering: .relaxed) }

    /// Starts reading it every second, until `stop`.
    func start() {
        let worker = RepeatingWorker(name: "access-keys", pause: 1) { [weak self] in
            self?.refresh()
            return false
        }
        lock.withLock { refresher = worker }
        worker.start()
    }

    func stop() { lock.withLock { refresher }?.stop() }
}
