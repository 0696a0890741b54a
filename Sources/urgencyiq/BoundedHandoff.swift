import Foundation

/// Hands items from one thread to another in order, holding at most `capacity` at a time: `put` waits while it is
/// full, `take` waits while it is empty and gives nil once it is closed and drained. What lets `score --csv` read,
/// score and write on threads of their own with bounded memory.
final class BoundedHandoff<Item>: @unchecked Sendable {
    private let capacity: Int
    private let condition = NSCondition()
    private var items: [Item] = []
    private var closed = false

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Adds `item` after those waiting; waits while `capacity` are waiting already.
    func put(_ item: Item) {
        condition.lock()
        while items.count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    /// No more items come: `take` returns nil once those waiting are taken.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next item in order; nil when the handoff is closed and empty.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !closed { condition.wait() }
        guard !items.isEmpty else { return nil }
        condition.broadcast()
        return items.removeFirst()
    }
}
