import Synchronization

/// The rule set serving right now. Readers take the current scorer for one evaluation (evaluations in flight
/// finish on the version they started with); a reload swaps in a new one atomically.
public final class ActiveRules: Sendable {
    private let current: Mutex<Scorer>

    public init(_ scorer: Scorer) { current = Mutex(scorer) }

    /// The scorer of the active version.
    public var scorer: Scorer { current.withLock { $0 } }

    /// Makes `scorer` the active version.
    public func activate(_ scorer: Scorer) { current.withLock { $0 = scorer } }
}
