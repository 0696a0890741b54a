import Foundation
import Synchronization

/// Stops calling a failing LLM endpoint for a while: after `threshold` consecutive failed calls the circuit
/// opens and calls are skipped for `cooldown`; then one probe call goes through. Its success closes the
/// circuit, its failure opens it again for another cooldown.
final class CircuitBreaker: Sendable {
    enum State: String, Sendable {
        case closed
        case open
        case halfOpen = "half-open"
    }

    /// Whether a call may go ahead, and whether it is the probe of a half-open circuit.
    enum Permission: Sendable, Equatable {
        case allowed
        case probe
        case rejected
    }

    private struct Status {
        var consecutiveFailures = 0
        var openedAt: Date?
        var probing = false
        var opened = 0
    }

    let threshold: Int
    let cooldown: TimeInterval
    private let status = Mutex(Status())

    init(threshold: Int, cooldown: TimeInterval) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    func permission(at now: Date = Date()) -> Permission {
        status.withLock { status in
            guard let openedAt = status.openedAt else { return .allowed }
            guard now.timeIntervalSince(openedAt) >= cooldown, !status.probing else { return .rejected }
            status.probing = true
            return .probe
        }
    }

    /// How a reported call changed the circuit, for the log.
    enum Transition: Equatable {
        /// Closed → open after `failures` failures in a row.
        case opened(failures: Int)
        /// A probe failed: open for another cooldown.
        case reopened
        /// A call succeeded while the circuit was open or half-open.
        case closed
    }

    /// Reports how a permitted call went; what changed, if anything.
    @discardableResult
    func record(success: Bool, at now: Date = Date()) -> Transition? {
        status.withLock { status -> Transition? in
            status.probing = false
            if success {
                let wasOpen = status.openedAt != nil
                status.consecutiveFailures = 0
                status.openedAt = nil
                return wasOpen ? .closed : nil
            }
            status.consecutiveFailures += 1
            if status.openedAt != nil || status.consecutiveFailures >= threshold {
                let transition: Transition = status.openedAt == nil ? .opened(failures: status.consecutiveFailures) : .reopened
                if status.openedAt == nil { status.opened += 1 }
                status.openedAt = now  // open, or open again after a failed probe
                return transition
            }
            return nil
        }
    }

    /// A permitted call that never reached the endpoint (no free slot): the probe, if it was one, is given back.
    func abandon(_ permission: Permission) {
        guard permission == .probe else { return }
        status.withLock { $0.probing = false }
    }

    /// The state, consecutive failures, when the circuit opened, and how many times it has opened.
    func snapshot(at now: Date = Date()) -> (state: State, consecutiveFailures: Int, openedAt: Date?, timesOpened: Int) {
        status.withLock { status in
            let state: State
            if let openedAt = status.openedAt {
                state = now.timeIntervalSince(openedAt) >= cooldown ? .halfOpen : .open
            } else {
                state = .closed
            }
            return (state, status.consecutiveFailures, status.openedAt, status.opened)
        }
    }
}
