import Foundation
import Support

/// A fixed set of threads running jobs that may block (database commits, LLM calls, imports), so that the
/// HTTP threads never wait: a slow request holds one worker, not the server.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    /// Queued jobs from `head` on; the slots before it were run and emptied.
    private var jobs: [(@Sendable () -> Void)?] = []
    private var head = 0
    private let queueLimit: Int
    private var stopping = false
    private var running = 0

    init(threads: Int, queueLimit: Int, name: String) {
        self.queueLimit = queueLimit
        for index in 0..<max(1, threads) {
            let label = "\(name)-\(index)"
            let thread = Thread { [unowned self] in
                nameCurrentThread(label)
                self.work()
            }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 2 << 20
            running += 1
            thread.start()
        }
    }

    /// Queues `job`; false when the queue is full or the pool is stopping (the caller answers 503).
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count - head < queueLimit else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Runs what is queued, then stops the threads.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            // Empty the slot now: a job holds what it answers (a listing can be megabytes), which must not wait
            // in the queue's storage for the next compaction.
            let job = jobs[head]
            jobs[head] = nil
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job?()
        }
    }
}
