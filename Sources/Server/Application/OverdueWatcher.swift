import Foundation
import Support

/// Reports tickets whose first response is late: every `interval` seconds one query (on an index of the open,
/// unanswered, unreported messages by due time) turns each newly overdue message into one `message.overdue`
/// event, which live subscribers and webhooks receive. `clock` is the time it compares with (tests move it).
final class OverdueWatcher: @unchecked Sendable {
    private var worker: RepeatingWorker?

    init(store: any OverdueStore, clock: @escaping @Sendable () -> Timestamp, interval: Double) {
        worker = RepeatingWorker(name: "overdue", pause: interval) {
            do {
                while try store.reportOverdue(now: clock(), limit: 1000) == 1000 {}
            } catch {
                OperationsLog.shared.report("store_error", "overdue tickets cannot be checked", [("detail", "\(error)")])
            }
            return false
        }
    }

    func start() { worker?.start() }

    func stop() { worker?.stop() }
}
