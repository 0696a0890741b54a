import CMalloc
import Foundation
import Synchronization

/// How the process keeps its memory: glibc's allocator told to keep few arenas and to give freed memory back
/// to the system, and a thread that hands back what is free now and then. (Memory freed after a burst — a
/// candidate check whose rules ran into their cap, a run of large listings — otherwise stays with the process.)
public enum ProcessMemory {
    /// Tells the allocator how to behave; the first call wins, later ones do nothing.
    public static func configure() { _ = configured }

    private static let configured: Void = {
        // Few arenas: one per core is enough for this many threads, and each arena keeps its own free memory.
        uiq_malloc_arena_max(Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        // Fixed thresholds (glibc otherwise raises them after large frees, and then keeps large freed blocks).
        uiq_malloc_mmap_threshold(256 * 1024)
        uiq_malloc_trim_threshold(1 << 20)
    }()

    /// Gives the memory that is free back to the system.
    public static func release() { uiq_malloc_release() }

    /// A thread calling `release` every `interval` seconds until stopped.
    public final class PeriodicRelease: @unchecked Sendable {
        private let stopping = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private let stopped = Atomic<Bool>(false)

        init(interval: Double) {
            let thread = Thread { [stopping, finished] in
                while stopping.wait(timeout: .now() + interval) == .timedOut { ProcessMemory.release() }
                finished.signal()
            }
            thread.name = "memory-release"
            thread.start()
        }

        /// Stops the thread and waits for it (once: later calls return at once).
        public func stop() {
            guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
            stopping.signal()
            finished.wait()
        }
    }

    /// Starts releasing free memory every 10 seconds.
    public static func startPeriodicRelease(interval: Double = 10) -> PeriodicRelease { PeriodicRelease(interval: interval) }
}
