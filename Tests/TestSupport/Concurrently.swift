import Foundation

/// Runs `body(0..<count)` on `count` threads of their own, all at once, and waits for them: unlike
/// `concurrentPerform`, which runs as many as there are cores, every worker here may block on a socket.
public func runConcurrently(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}
