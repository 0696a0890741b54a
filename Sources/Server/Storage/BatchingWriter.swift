import Foundation
import Support

/// The writer loop both stores share: one thread takes the jobs queued since its last transaction, up to
/// `maximumBatch` at once, and hands them to `commit` together, so a burst of writes costs one commit, not one
/// per write. Between batches it gives its spare time to `idleWork`. `close` lets what is queued commit first.
final class BatchingWriter<Job>: @unchecked Sendable {
    private let maximumBatch: Int
    private let commit: ([Job]) -> Void
    private let idleWork: IdleWork?
    private let condition = NSCondition()
    private var pending: [Job] = []
    private var stopping = false
    private var stopped = false

    /// Work the writer does when nothing is queued (`due(idle)`: whether it is time; `run`: one step of it),
    /// and after each batch when it is due then too.
    struct IdleWork {
        var due: (_ writerIdle: Bool) -> Bool
        var run: () -> Void
    }

    init(name: String, maximumBatch: Int, idleWork: IdleWork? = nil, commit: @escaping ([Job]) -> Void) {
        self.maximumBatch = maximumBatch
        self.commit = commit
        self.idleWork = idleWork
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
            while pending.isEmpty && !stopping {
                if let idleWork, idleWork.due(true) {
                    condition.unlock()
                    idleWork.run()
                    condition.lock()
                    continue
                }
                condition.wait()
            }
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
            if let idleWork, idleWork.due(false) { idleWork.run() }
        }
    }
}
