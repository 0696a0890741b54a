import Foundation
import Support

/// Background threads that repeat a round of work until stopped, pausing between rounds. A round that returns
/// true has more to do at once (no pause). `stop` wakes any pause at once and returns when the rounds in progress
/// have finished; `wake` ends a pause early. What the fleet sync, the overdue check, the webhook sender and the
/// LLM refiner run on.
final class RepeatingWorker: @unchecked Sendable {
    private let name: String
    private let threads: Int
    private let pause: Double
    private let round: @Sendable () -> Bool
    private let condition = NSCondition()
    private var stopping = false
    private var woken = false
    private var running = 0

    init(name: String, threads: Int = 1, pause: Double, round: @escaping @Sendable () -> Bool) {
        self.name = name
        self.threads = max(1, threads)
        self.pause = pause
        self.round = round
    }

    func start() {
        condition.lock()
        running += threads
        condition.unlock()
        for index in 0..<threads {
            let thread = Thread { [self] in
                nameCurrentThread(threads == 1 ? name : "\(name)-\(index)")
                while !isStopping {
                    if round() { continue }
                    condition.lock()
                    if !stopping && !woken { _ = condition.wait(until: Date(timeIntervalSinceNow: pause)) }
                    woken = false
                    condition.unlock()
                }
                condition.lock()
                running -= 1
                condition.broadcast()
                condition.unlock()
            }
            thread.start()
        }
    }

    /// Ends the current pause at once (or skips the next one): there is work.
    func wake() {
        condition.lock()
        woken = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the threads: wakes their pauses, waits for the rounds in progress.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }
}
