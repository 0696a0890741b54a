import Foundation
import Support
import Synchronization

/// Reports tickets whose first response is late: every `interval` seconds one query (on an index of the open,
/// unanswered, unreported messages by due time) turns each newly overdue message into one `message.overdue`
/// event, which live subscribers and webhooks receive. `clock` is the time it compares with (tests move it).
final class OverdueWatcher: @unchecked Sendable {
    private let store: any OverdueStore
    private let clock: @Sendable () -> Timestamp
    private let interval: Double
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    private var started = false

    init(store: any OverdueStore, clock: @escaping @Sendable () -> Timestamp, interval: Double) {
        self.store = store
        self.clock = clock
        self.interval = interval
    }

    func start() {
        started = true
        let thread = Thread { [self] in
            nameCurrentThread("overdue")
            while !stopping.load(ordering: .acquiring) {
                do {
                    while try store.reportOverdue(now: clock(), limit: 1000) == 1000 {}
                } catch {
                    OperationsLog.shared.report("store_error", "overdue tickets cannot be checked", [("detail", "\(error)")])
                }
                var waited = 0.0
                while waited < interval && !stopping.load(ordering: .acquiring) {
                    usleep(20_000)
                    waited += 0.02
                }
            }
            stopped.signal()
        }
        thread.start()
    }

    func stop() {
        guard started, !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopped.wait()
    }
}
