import XCTest
import Synchronization
import Support

/// The one parallel map: order kept on cores and on threads of its own, every item done once, progress up to
/// the count, a passed deadline stopping the work.
final class ParallelMapTests: XCTestCase {
    func testKeepsTheOrderOnCoresAndOnThreads() {
        let items = Array(0..<1_000)
        for parallelism in [Parallelism.cores(chunk: 7), .cores(), .threads(1), .threads(4), .threads(64)] {
            let calls = Atomic<Int>(0)
            let result = parallelMap(items, parallelism) { item in
                calls.add(1, ordering: .relaxed)
                return item * 2
            }
            XCTAssertEqual(result, items.map { $0 * 2 }, "\(parallelism)")
            XCTAssertEqual(calls.load(ordering: .relaxed), items.count, "\(parallelism)")
        }
    }

    /// A result lives as long as the caller keeps it: the map's own buffer releases its references (it kept
    /// every result alive, which made an import of 100,000 messages peak at 373 MB instead of 48).
    func testReleasesItsResults() {
        final class Count: Sendable {
            let value = Atomic<Int>(0)
        }
        final class Tracked: Sendable {
            let alive: Count
            init(_ alive: Count) {
                self.alive = alive
                alive.value.add(1, ordering: .relaxed)
            }
            deinit { alive.value.add(-1, ordering: .relaxed) }
        }
        for parallelism in [Parallelism.cores(chunk: 3), .threads(1), .threads(4)] {
            let alive = Count()
            do {
                let results = parallelMap(Array(0..<200), parallelism) { _ in Tracked(alive) }
                XCTAssertEqual(alive.value.load(ordering: .relaxed), 200, "\(parallelism): alive while the caller holds them")
                XCTAssertEqual(results.count, 200)
            }
            XCTAssertEqual(alive.value.load(ordering: .relaxed), 0, "\(parallelism): freed with the caller's array")
        }
    }

    func testThreadsRunAtOnce() {
        // Four items that each wait for all four to have started finish only if four threads run them together.
        let started = Atomic<Int>(0)
        let result = parallelMap(Array(0..<4), .threads(4)) { item in
            started.add(1, ordering: .relaxed)
            let deadline = Date().addingTimeInterval(30)
            while started.load(ordering: .relaxed) < 4 && Date() < deadline { usleep(1_000) }
            return started.load(ordering: .relaxed)
        }
        XCTAssertEqual(result, [4, 4, 4, 4])
    }

    func testProgressReachesTheCount() {
        let highest = Mutex(0)
        _ = parallelMap(Array(0..<500), .threads(3), progress: { done in highest.withLock { $0 = max($0, done) } }) { $0 }
        XCTAssertEqual(highest.withLock { $0 }, 500)
    }

    func testAPassedDeadlineStopsTheWork() {
        XCTAssertThrowsError(try parallelMap(Array(0..<100), .cores(chunk: 1), deadline: Deadline(seconds: -1)) { $0 }) { error in
            XCTAssertEqual((error as? DeadlineExceeded)?.done, 0)
        }
        XCTAssertEqual(try parallelMap(Array(0..<100), .threads(2), deadline: Deadline(seconds: 60)) { $0 }, Array(0..<100))
    }
}
