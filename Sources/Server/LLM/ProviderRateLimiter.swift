import Foundation
import RulesEngine

/// Keeps model calls within what the provider allows: requests per minute and tokens per minute as token buckets
/// (`LLM_RPM`, `LLM_TPM`) shared by every call of the process (inline and background), and a pause after a 429
/// for as long as the provider's `Retry-After` asks.
///
/// A call takes one request and an estimate of its tokens before it starts (`acquire`) and settles the estimate
/// with the response's `usage` afterwards, so the token bucket follows what the provider counts.
final class ProviderRateLimiter: @unchecked Sendable {
    /// A bucket refilled continuously at `perSecond`, up to `capacity` (one minute's allowance).
    private struct Bucket {
        let capacity: Double
        let perSecond: Double
        var available: Double
        var updated: Date

        init(perMinute: Int, now: Date) {
            capacity = Double(perMinute)
            perSecond = Double(perMinute) / 60
            available = capacity
            updated = now
        }

        mutating func refill(_ now: Date) {
            available = min(capacity, available + max(0, now.timeIntervalSince(updated)) * perSecond)
            updated = now
        }

        /// Seconds until `amount` (at most the capacity) is available.
        func wait(for amount: Double) -> TimeInterval {
            let needed = min(amount, capacity)
            return available >= needed ? 0 : (needed - available) / perSecond
        }
    }

    private let condition = NSCondition()
    private var requests: Bucket?
    private var tokens: Bucket?
    private var pausedUntil = Date.distantPast
    /// Calls that gave up because the limit would not let them start by their deadline.
    private var refusalCount = 0

    /// The time the buckets refill by (tests move it; waits are real time).
    private let clock: @Sendable () -> Date

    init(requestsPerMinute: Int?, tokensPerMinute: Int?, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.clock = clock
        let now = clock()
        requests = requestsPerMinute.map { Bucket(perMinute: $0, now: now) }
        tokens = tokensPerMinute.map { Bucket(perMinute: $0, now: now) }
    }

    /// Takes one request and `estimatedTokens`, waiting for them until `deadline`; false (nothing taken) when they
    /// would not be there in time.
    func acquire(estimatedTokens: Int, deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while true {
            let now = clock()
            let wait = waitLocked(estimatedTokens: estimatedTokens, now: now)
            if wait <= 0 {
                requests?.available -= 1
                tokens?.available -= Double(estimatedTokens)
                return true
            }
            guard now.addingTimeInterval(wait) <= deadline else {
                refusalCount += 1
                return false
            }
            _ = condition.wait(until: Date().addingTimeInterval(wait))
        }
    }

    /// Seconds until a call of `estimatedTokens` could start (0: now). The refiners ask before they claim work, so
    /// queued messages are not held while the limit makes them wait.
    func delay(estimatedTokens: Int = 1) -> TimeInterval {
        condition.lock()
        defer { condition.unlock() }
        return waitLocked(estimatedTokens: estimatedTokens, now: clock())
    }

    /// The provider billed `actual` tokens for a call that reserved `estimated`: the difference is given back (or
    /// taken, which can leave the bucket in debt until it refills).
    func settle(estimated: Int, actual: Int) {
        condition.lock()
        tokens?.available += Double(estimated - actual)
        condition.broadcast()
        condition.unlock()
    }

    /// The provider answered 429: no call starts before `until`.
    func pause(until: Date) {
        condition.lock()
        pausedUntil = max(pausedUntil, until)
        condition.unlock()
    }

    /// Calls that gave up because the limits would not let them start by their deadline.
    var refusals: Int {
        condition.lock()
        defer { condition.unlock() }
        return refusalCount
    }

    /// Until when a 429 pauses the calls (nil: not paused).
    var pausedUntilDate: Date? {
        condition.lock()
        defer { condition.unlock() }
        return pausedUntil > clock() ? pausedUntil : nil
    }

    private func waitLocked(estimatedTokens: Int, now: Date) -> TimeInterval {
        requests?.refill(now)
        tokens?.refill(now)
        var wait = max(0, pausedUntil.timeIntervalSince(now))
        if let requests { wait = max(wait, requests.wait(for: 1)) }
        if let tokens { wait = max(wait, tokens.wait(for: Double(estimatedTokens))) }
        return wait
    }

    /// A call's token estimate before it is made: about four bytes per token of the prompts, plus the most the
    /// reply may take.
    static func estimateTokens(_ request: LLMRequest) -> Int {
        ((request.system?.utf8.count ?? 0) + request.prompt.utf8.count + 3) / 4 + (request.maxTokens ?? 16)
    }
}
