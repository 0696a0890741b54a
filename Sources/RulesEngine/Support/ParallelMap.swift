import Dispatch
import Synchronization

/// Maps `items` on all cores, in chunks, keeping the order; `progress` is told how many are done after each
/// chunk (from any thread). For the fixture harness and the rules diff, which score many independent messages.
func parallelMap<Item: Sendable, Result: Sendable>(_ items: [Item], chunk: Int = 256,
                                                   progress: (@Sendable (Int) -> Void)? = nil,
                                                   _ transform: @Sendable (Item) -> Result) -> [Result] {
    let results = UnsafeMutableBufferPointer<Result?>.allocate(capacity: items.count)
    results.initialize(repeating: nil)
    defer { results.deallocate() }
    let slots = Slots(results)
    let done = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: (items.count + chunk - 1) / chunk) { index in
        let range = (index * chunk)..<min(items.count, (index + 1) * chunk)
        for i in range { slots.buffer[i] = transform(items[i]) }
        let finished = done.add(range.count, ordering: .relaxed).newValue
        progress?(finished)
    }
    return results.map { $0! }
}

/// `parallelMap` that starts no item once `deadline` has passed: the results, or what stopped it.
func parallelMap<Item: Sendable, Result: Sendable>(_ items: [Item], chunk: Int = 256, deadline: Deadline?,
                                                   progress: (@Sendable (Int) -> Void)? = nil,
                                                   _ transform: @Sendable (Item) -> Result) throws(DeadlineExceeded) -> [Result] {
    guard let deadline else { return parallelMap(items, chunk: chunk, progress: progress, transform) }
    let results: [Result?] = parallelMap(items, chunk: chunk, progress: progress) { item in
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
