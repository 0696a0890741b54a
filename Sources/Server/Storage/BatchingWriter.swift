import Foundation
import Support

/// The writer loop both stores share: one thread takes the jobs queued since its last transaction, up to
/// `maximumBatch` at once, and hands them to `commit` together, so a burst of writes costs one commit, not one
/// per write. `close` lets what is queued commit first.
final class BatchingWriter<Job>: @unchecked Sendable {
    private let maximumBatch: Int
    private let commit: ([Job]) -> Void
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var stopping = false
    private var stopped = false

    init(name: String, maximumBatch: Int, commit: @escaping ([Job]) -> Void) {
        self.maximumBatch = maximumBatch
        self.commit = commit
        let thread = Thread { [unowned self] in
            nameCurrentThread(name)
            loop()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Queues `job` for the next batch; false when the writer is shutting down (the job is not queued).
    func submit(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        pending.append(job)
        condition.signal()
        return true
    }

    /// Writes queued and not yet in a transaction.
    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return pending.count
    }

    /// Commits what is queued, then stops the thread. Later jobs are refused.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(maximumBatch))
            pending.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
    }
}
