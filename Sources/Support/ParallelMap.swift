import Foundation
import Synchronization

/// How `parallelMap` spreads its work.
public enum Parallelism: Sendable, Equatable {
    /// On every core, in chunks: for work that only computes (the fixture harness, the rules diff).
    case cores(chunk: Int = 256)
    /// On this many threads of its own, one item at a time: for work that waits (scoring that may call a model,
    /// where the threads spend their time on the network). One thread: in order on the calling thread.
    case threads(Int)
}

/// Maps `items` in parallel, keeping their order; `progress` is told how many are done after each chunk or
/// item (from any thread). The one way the project scores many independent messages at once.
public func parallelMap<Item: Sendable, Result: Sendable>(_ items: [Item], _ parallelism: Parallelism = .cores(),
                                                          progress: (@Sendable (Int) -> Void)? = nil,
                                                          _ transform: @escaping @Sendable (Item) -> Result) -> [Result] {
    let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: items.count)
    results.initialize(repeating: nil)
    defer {
        _ = results.deinitialize()  // the results were copied out: release the buffer's references before freeing it
        results.deallocate()
    }
    let slots = Slots(results)
    let done = Atomic<Int>(0)
    switch parallelism {
    case .cores(let chunk):
        let chunk = max(1, chunk)
        DispatchQueue.concurrentPerform(iterations: (items.count + chunk - 1) / chunk) { index in
            let range = (index * chunk)..<min(items.count, (index + 1) * chunk)
            for i in range { slots.buffer[i] = transform(items[i]) }
            progress?(done.add(range.count, ordering: .relaxed).newValue)
        }
    case .threads(let count) where count <= 1 || items.count <= 1:
        for i in items.indices {
            slots.buffer[i] = transform(items[i])
            progress?(i + 1)
        }
    case .threads(let count):
        let next = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<min(count, items.count) {
            group.enter()
            let thread = Thread {
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < items.count else { break }
                    slots.buffer[index] = transform(items[index])
                    progress?(done.add(1, ordering: .relaxed).newValue)
                }
                group.leave()
            }
            thread.name = "parallel-map"
            thread.start()
        }
        group.wait()
    }
    return results.map { $0! }
}

/// `parallelMap` that starts no item once `deadline` has passed: the results, or what stopped it.
public func parallelMap<Item: Sendable, Result: Sendable>(_ items: [Item], _ parallelism: Parallelism = .cores(),
                                                          deadline: Deadline?, progress: (@Sendable (Int) -> Void)? = nil,
                                                          _ transform: @escaping @Sendable (Item) -> Result) throws(DeadlineExceeded) -> [Result] {
    guard let deadline else { return parallelMap(items, parallelism, progress: progress, transform) }
    let results: [Result?] = parallelMap(items, parallelism, progress: progress) { item in
        deadline.hasPassed ? nil : transform(item)
    }
    let done = results.reduce(0) { $0 + ($1 == nil ? 0 : 1) }
    guard done == items.count else { throw DeadlineExceeded(done: done, total: items.count, seconds: deadline.seconds) }
    return results.map { $0! }
}

/// Lets concurrent workers write disjoint slots of one buffer.
private struct Slots<Element>: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Element>
    init(_ buffer: UnsafeMutableBufferPointer<Element>) { self.buffer = buffer }
}
