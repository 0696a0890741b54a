import Synchronization

/// A count that only goes up, updated with one atomic add and no lock, so counting on the request path costs
/// next to nothing.
final class MetricCounter: Sendable {
    private let total = Atomic<Int>(0)

    init() {}

    func add(_ amount: Int = 1) { total.add(amount, ordering: .relaxed) }

    var value: Int { total.load(ordering: .relaxed) }
}
