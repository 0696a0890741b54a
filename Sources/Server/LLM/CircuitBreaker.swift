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

    /// Reports how a permitted call went.
    func record(success: Bool, at now: Date = Date()) {
        status.withLock { status in
            status.probing = false
            if success {
                status.consecutiveFailures = 0
                status.openedAt = nil
                return
            }
            status.consecutiveFailures += 1
            if status.openedAt != nil || status.consecutiveFailures >= threshold {
                if status.openedAt == nil { status.opened += 1 }
                status.openedAt = now  // open, or open again after a failed probe
            }
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
