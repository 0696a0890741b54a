import Foundation

/// Identical model calls in flight at the same time share one call: the first caller of a key makes it, the others
/// wait for its result (each within its own deadline) instead of asking the provider the same question again.
/// The completion cache then answers repeats that come later.
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: @unchecked Sendable {
    private final class Flight {
        var value: Value?
    }

    private let condition = NSCondition()
    private var flights: [Key: Flight] = [:]
    private var shared = 0

    /// Callers that waited for another's call instead of making their own.
    var sharedCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return shared
    }

    /// `call()`'s result, made by this caller or by the one already making it for `key`; `timedOut()` when that
    /// one has not finished by `deadline`.
    func run(_ key: Key, deadline: Date, call: () -> Value, timedOut: () -> Value) -> Value {
        condition.lock()
        if let flight = flights[key] {
            shared += 1
            while flight.value == nil {
                guard condition.wait(until: deadline) else { break }
            }
            let value = flight.value
            condition.unlock()
            return value ?? timedOut()
        }
        let flight = Flight()
        flights[key] = flight
        condition.unlock()
        let value = call()
        condition.lock()
        flight.value = value
        flights[key] = nil
        condition.broadcast()
        condition.unlock()
        return value
    }
}
