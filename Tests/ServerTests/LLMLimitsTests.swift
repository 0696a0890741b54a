import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The pieces that keep the LLM step within the provider's limits and the budget, on their own: the per-minute
/// token buckets, the daily token ledger and its UTC day, single flight, and the new settings.
final class LLMLimitsTests: XCTestCase {
    /// A clock the test moves: the buckets' arithmetic, free of the machine's load.
    private final class TestClock: @unchecked Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_796_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: TimeInterval) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    func testTheBucketsLetAMinutesAllowanceThroughThenRefill() {
        let clock = TestClock()
        let limiter = ProviderRateLimiter(requestsPerMinute: 120, tokensPerMinute: nil, clock: { clock.now })  // 2 a second
        var granted = 0
        while limiter.acquire(estimatedTokens: 1, deadline: clock.now) { granted += 1 }
        XCTAssertEqual(granted, 120, "a full bucket: one minute's allowance")
        XCTAssertEqual(limiter.refusals, 1)
        XCTAssertEqual(limiter.delay(), 0.5, accuracy: 1e-9, "then half a second per request")
        clock.advance(0.25)
        XCTAssertEqual(limiter.delay(), 0.25, accuracy: 1e-9)
        XCTAssertFalse(limiter.acquire(estimatedTokens: 1, deadline: clock.now.addingTimeInterval(0.2)), "not within 0.2 s")
        clock.advance(0.25)
        XCTAssertTrue(limiter.acquire(estimatedTokens: 1, deadline: clock.now))
        XCTAssertEqual(limiter.refusals, 2)
    }

    func testTokensAreReservedByEstimateAndSettledByUsage() {
        let clock = TestClock()
        let limiter = ProviderRateLimiter(requestsPerMinute: nil, tokensPerMinute: 600, clock: { clock.now })  // 10 a second
        XCTAssertTrue(limiter.acquire(estimatedTokens: 500, deadline: clock.now))
        XCTAssertFalse(limiter.acquire(estimatedTokens: 500, deadline: clock.now), "100 left")
        limiter.settle(estimated: 500, actual: 20)  // the provider billed far less than estimated
        XCTAssertTrue(limiter.acquire(estimatedTokens: 500, deadline: clock.now))
        limiter.settle(estimated: 500, actual: 1500)  // far more: the bucket is in debt
        XCTAssertGreaterThan(limiter.delay(estimatedTokens: 1), 60, "in debt by more than a minute's worth")
        XCTAssertEqual(ProviderRateLimiter.estimateTokens(LLMRequest(system: String(repeating: "s", count: 100),
                                                                     prompt: String(repeating: "p", count: 300), maxTokens: 10)), 110)
    }

    func testA429PausesEveryCallUntilTheProviderAllows() {
        let clock = TestClock()
        let limiter = ProviderRateLimiter(requestsPerMinute: nil, tokensPerMinute: nil, clock: { clock.now })
        XCTAssertEqual(limiter.delay(), 0)
        limiter.pause(until: clock.now.addingTimeInterval(2))
        XCTAssertEqual(limiter.pausedUntilDate, clock.now.addingTimeInterval(2))
        XCTAssertFalse(limiter.acquire(estimatedTokens: 1, deadline: clock.now.addingTimeInterval(1)), "not before the pause ends")
        clock.advance(2)
        XCTAssertNil(limiter.pausedUntilDate)
        XCTAssertTrue(limiter.acquire(estimatedTokens: 1, deadline: clock.now))
    }

    func testACallWaitsInRealTimeForTheLimitWithinItsDeadline() {
        let limiter = ProviderRateLimiter(requestsPerMinute: nil, tokensPerMinute: nil)
        limiter.pause(until: Date().addingTimeInterval(0.3))
        let started = Date()
        XCTAssertTrue(limiter.acquire(estimatedTokens: 1, deadline: Date().addingTimeInterval(30)))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.25, "it waited for the pause (a lower bound only)")
    }

    func testTheLedgerCountsPerUTCDayAndSaysOnceWhenTheBudgetIsSpent() throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_796_083_200 - 10))  // 2026-11-30 23:59:50 UTC
        let ledger = LLMUsageLedger(budget: 30, clock: { clock.withLock { $0 } })
        let logged = Mutex<[String]>([])
        OperationsLog.shared.redirect { line in logged.withLock { $0.append(line) } }
        defer { OperationsLog.shared.redirect(to: nil) }
        ledger.record(inputTokens: 10, outputTokens: 1)
        ledger.record(inputTokens: 10, outputTokens: 1)
        XCTAssertFalse(ledger.isExhausted)
        ledger.record(inputTokens: 10, outputTokens: 1)
        XCTAssertTrue(ledger.isExhausted)
        XCTAssertTrue(ledger.isExhausted)
        XCTAssertEqual(ledger.today.day, "2026-11-30")
        XCTAssertEqual(ledger.today.usage, LLMUsage(calls: 3, inputTokens: 30, outputTokens: 3))
        XCTAssertEqual(logged.withLock { $0 }.filter { $0.contains("llm_budget") }.count, 1, "logged once a day")
        clock.withLock { $0 = $0.addingTimeInterval(20) }  // past midnight UTC
        XCTAssertFalse(ledger.isExhausted, "a new day, a new budget")
        XCTAssertEqual(ledger.today.day, "2026-12-01")
        XCTAssertEqual(ledger.today.usage, LLMUsage())
    }

    func testIdenticalCallsInFlightShareOneAndLateOnesTimeOut() throws {
        let flights = SingleFlight<String, Int>()
        let calls = Atomic<Int>(0)
        let release = DispatchSemaphore(value: 0)
        let results = Mutex<[Int]>([])
        let done = DispatchGroup()
        func caller() {
            done.enter()
            Thread {
                let value = flights.run("same", deadline: Date().addingTimeInterval(10), call: {
                    calls.add(1, ordering: .relaxed)
                    _ = release.wait(timeout: .now() + 10)
                    return 42
                }, timedOut: { -1 })
                results.withLock { $0.append(value) }
                done.leave()
            }.start()
        }
        caller()
        try waitUntil("the first call to be in flight") { calls.load(ordering: .relaxed) == 1 }
        for _ in 0..<3 { caller() }
        try waitUntil("the others to wait for it") { flights.sharedCount == 3 }
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(calls.load(ordering: .relaxed), 1, "one call for four callers")
        XCTAssertEqual(results.withLock { $0 }, [42, 42, 42, 42])
        // A caller whose deadline comes before the call in flight ends gives up on its own.
        let slowStarted = Atomic<Bool>(false)
        Thread {
            _ = flights.run("slow", deadline: Date().addingTimeInterval(10), call: {
                slowStarted.store(true, ordering: .relaxed)
                _ = release.wait(timeout: .now() + 10)
                return 1
            }, timedOut: { -1 })
        }.start()
        try waitUntil("the slow call to be in flight") { slowStarted.load(ordering: .relaxed) }
        XCTAssertEqual(flights.run("slow", deadline: Date().addingTimeInterval(0.1), call: { 2 }, timedOut: { -1 }), -1)
        release.signal()
    }

    func testTheNewSettings() throws {
        let defaults = try ServerConfiguration.load(flags: [:], environment: [:], envFile: nil).llm
        XCTAssertEqual(defaults.mode, .background)
        XCTAssertEqual(defaults.maximumBacklog, 10_000)
        XCTAssertEqual(defaults.maximumBacklogAge, 900)
        XCTAssertNil(defaults.requestsPerMinute)
        XCTAssertNil(defaults.dailyTokenBudget)
        let set = try ServerConfiguration.load(flags: [:], environment: [
            "LLM_MODE": "inline", "LLM_MAX_BACKLOG": "500, 2h", "LLM_RPM": "500", "LLM_TPM": "200000", "LLM_DAILY_TOKEN_BUDGET": "1000000",
            "LLM_REFINE_ATTEMPTS": "3",
        ], envFile: nil).llm
        XCTAssertEqual(set.mode, .inline)
        XCTAssertEqual(set.maximumBacklog, 500)
        XCTAssertEqual(set.maximumBacklogAge, 7200)
        XCTAssertEqual(set.requestsPerMinute, 500)
        XCTAssertEqual(set.tokensPerMinute, 200_000)
        XCTAssertEqual(set.dailyTokenBudget, 1_000_000)
        XCTAssertEqual(set.refinementAttempts, 3)
        XCTAssertEqual(try LLMConfiguration.backlogLimits("15m").count, nil)
        XCTAssertEqual(try LLMConfiguration.backlogLimits("15m").age, 900)
        XCTAssertEqual(try LLMConfiguration.backlogLimits("off").age, nil)
        for (name, value, message) in [("LLM_MODE", "later", "LLM_MODE must be background or inline"),
                                       ("LLM_MAX_BACKLOG", "lots", "LLM_MAX_BACKLOG must be"),
                                       ("LLM_MAX_BACKLOG", "5,6", "LLM_MAX_BACKLOG must be"),
                                       ("LLM_MAX_BACKLOG", "0", "LLM_MAX_BACKLOG must be"),
                                       ("LLM_RPM", "-1", "LLM_RPM must be an integer"),
                                       ("LLM_DAILY_TOKEN_BUDGET", "1e6", "LLM_DAILY_TOKEN_BUDGET must be an integer")] {
            XCTAssertThrowsError(try ServerConfiguration.load(flags: [:], environment: [name: value], envFile: nil), "\(name)=\(value)") { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
    }
}
