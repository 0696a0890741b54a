import Foundation
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The refinement-queue role of the store contract (the LLM step in the background).
extension StoreContract {
    private func queued(_ customer: Int64, _ body: String, urgency: Double, priority: Double? = nil) -> NewMessage {
        var message = NewMessage(customerID: customer, body: body, createdAt: .now(), urgency: urgency, rulesVersion: "keyword",
                                 breakdown: ["urgency": .number(urgency), "llm": ["used": false, "skipped": "pending", "state": "pending"]])
        message.refinementPriority = priority ?? urgency
        return message
    }

    /// A message is queued in its own insert; claims come most urgent and newest first and are leased; a refined
    /// score replaces the keyword score with a `refine` event; a retry waits; a skip keeps the score and says why
    /// in the breakdown; a stale claim changes nothing; the backlog limit drops the least urgent and oldest.
    func queuesRefinements() throws {
        try withStore { store in
            _ = try store.insertMessage(NewMessage(customerID: 9, body: "not queued", createdAt: .now(), urgency: 5, rulesVersion: "v", breakdown: .null))
            let low = try store.insertMessage(queued(1, "low", urgency: 2))
            let high = try store.insertMessage(queued(2, "high", urgency: 5))
            let newerHigh = try store.insertMessage(queued(3, "newer high", urgency: 5))
            XCTAssertEqual(try store.refinementQueue().depth, 3, "only the messages the rules asked the model about")
            let now = Timestamp.now()
            let lease = Timestamp(microseconds: now.microseconds + 60_000_000)
            let claimed = try store.claimRefinements(now: now, limit: 2, leaseUntil: lease)
            XCTAssertEqual(claimed.map(\.messageID), [newerHigh, high], "most urgent first, newest first among equals")
            XCTAssertEqual(claimed.first?.body, "newer high")
            XCTAssertEqual(claimed.first?.claim, lease)
            XCTAssertEqual(try store.claimRefinements(now: now, limit: 5, leaseUntil: lease).map(\.messageID), [low], "claimed ones are leased")
            XCTAssertEqual(try store.claimRefinements(now: now, limit: 5, leaseUntil: lease), [])

            let feed = try store.openEventFeed()
            _ = try feed.poll(limit: 100)
            let refined = ScoreUpdate(id: newerHigh, urgency: 3.8, rulesVersion: "blended",
                                      breakdownJSON: #"{"urgency":3.8,"llm":{"used":true,"state":"used","score":3}}"#)
            try store.finishRefinements([
                RefinementResult(messageID: newerHigh, claim: lease, outcome: .refined(refined, replacing: "keyword")),
                RefinementResult(messageID: high, claim: lease, outcome: .skipped(reason: "http 400")),
                RefinementResult(messageID: low, claim: lease,
                                 outcome: .retry(at: Timestamp(microseconds: now.microseconds + 5_000_000), reason: "timeout", countsAsAttempt: true)),
            ])
            let stored = try XCTUnwrap(try store.message(id: newerHigh))
            XCTAssertEqual(stored.urgency, 3.8)
            XCTAssertEqual(stored.rulesVersion, "blended")
            XCTAssertEqual(stored.breakdown?["llm"]?["state"], "used")
            let skipped = try XCTUnwrap(try store.message(id: high))
            XCTAssertEqual(skipped.urgency, 5, "a skipped message keeps its keyword score")
            XCTAssertEqual(skipped.breakdown?["llm"]?["state"], "skipped")
            XCTAssertEqual(skipped.breakdown?["llm"]?["skipped"], "http 400")
            XCTAssertEqual(skipped.breakdown?["urgency"]?.doubleValue, 5, "the rest of the breakdown is kept")
            let events = try feed.poll(limit: 100)
            XCTAssertEqual(events.map(\.type), ["message.updated"], "one event: the refined message")
            XCTAssertEqual(events.first?.change, "refine")
            XCTAssertEqual(events.first?.message?.urgency, 3.8)

            XCTAssertEqual(try store.refinementQueue().depth, 1)
            XCTAssertEqual(try store.claimRefinements(now: now, limit: 5, leaseUntil: lease), [], "the retry is not due yet")
            let later = Timestamp(microseconds: now.microseconds + 6_000_000)
            let again = try XCTUnwrap(try store.claimRefinements(now: later, limit: 5, leaseUntil: later).first)
            XCTAssertEqual(again.messageID, low)
            XCTAssertEqual(again.attempts, 1)
            // A claim that ran out and was taken again: the old claimant's result changes nothing.
            try store.finishRefinements([RefinementResult(messageID: low, claim: lease, outcome: .skipped(reason: "stale"))])
            XCTAssertEqual(try store.message(id: low)?.breakdown?["llm"]?["state"], "pending")
            XCTAssertEqual(try store.refinementQueue().depth, 1)

            // The backlog: beyond the 2 most urgent and newest, and anything queued before the age limit.
            var ids: [Int64] = []
            for (index, urgency) in [1.0, 4.0, 3.0, 4.0].enumerated() {
                ids.append(try store.insertMessage(queued(Int64(20 + index), "backlog \(index)", urgency: urgency)))
            }
            let dropped = try store.trimRefinements(keeping: 2, queuedBefore: nil, now: later, limit: 100)
            XCTAssertEqual(dropped, 2, "four waiting beyond the one being refined: two kept")
            XCTAssertEqual(try store.message(id: ids[0])?.breakdown?["llm"]?["skipped"], "backlog")
            XCTAssertEqual(try store.message(id: ids[2])?.breakdown?["llm"]?["skipped"], "backlog")
            XCTAssertEqual(try store.message(id: ids[1])?.breakdown?["llm"]?["state"], "pending")
            XCTAssertEqual(try store.message(id: ids[3])?.breakdown?["llm"]?["state"], "pending")
            XCTAssertEqual(try store.message(id: low)?.breakdown?["llm"]?["state"], "pending", "the one being refined is left to finish")
            let farFuture = Timestamp(microseconds: later.microseconds + 3_600_000_000)
            XCTAssertEqual(try store.trimRefinements(keeping: nil, queuedBefore: farFuture, now: later, limit: 1), 1, "at most the limit at once")
            XCTAssertEqual(try store.trimRefinements(keeping: nil, queuedBefore: farFuture, now: later, limit: 10), 1, "too old: both dropped")
            let state = try store.refinementQueue()
            XCTAssertEqual(state.depth, 1)
            XCTAssertNotNil(state.oldestQueuedAt)

            // Tokens per day add up.
            XCTAssertEqual(try store.addLLMUsage(LLMUsage(calls: 1, inputTokens: 10, outputTokens: 1), day: "2026-11-30"),
                           LLMUsage(calls: 1, inputTokens: 10, outputTokens: 1))
            XCTAssertEqual(try store.addLLMUsage(LLMUsage(calls: 2, inputTokens: 20, outputTokens: 3), day: "2026-11-30"),
                           LLMUsage(calls: 3, inputTokens: 30, outputTokens: 4))
            XCTAssertEqual(try store.addLLMUsage(LLMUsage(), day: "2026-12-01"), LLMUsage())
            XCTAssertEqual(try store.llmUsage(day: "2026-11-30"), LLMUsage(calls: 3, inputTokens: 30, outputTokens: 4))
            XCTAssertEqual(try store.llmUsage(day: "2026-12-02"), LLMUsage())

            // A rescore while the model was being asked wins: the refinement replaces only the score it was for.
            let raced = try store.insertMessage(queued(40, "raced", urgency: 4))
            let again2 = Timestamp(microseconds: later.microseconds + 1_000_000)
            let claim = try XCTUnwrap(try store.claimRefinements(now: again2, limit: 10, leaseUntil: farFuture).first { $0.messageID == raced })
            XCTAssertEqual(claim.rulesVersion, "keyword")
            try store.updateScores([ScoreUpdate(id: raced, urgency: 2.5, rulesVersion: "rescored", breakdownJSON: #"{"urgency":2.5}"#)])
            _ = try feed.poll(limit: 100)
            try store.finishRefinements([RefinementResult(messageID: raced, claim: farFuture, outcome: .refined(
                ScoreUpdate(id: raced, urgency: 4.6, rulesVersion: "blended", breakdownJSON: #"{"urgency":4.6}"#), replacing: claim.rulesVersion))])
            XCTAssertEqual(try store.message(id: raced)?.urgency, 2.5)
            XCTAssertEqual(try store.message(id: raced)?.rulesVersion, "rescored")
            XCTAssertEqual(try feed.poll(limit: 100).filter { $0.change == "refine" }, [], "no refine event")
            XCTAssertNil(try store.claimRefinements(now: farFuture, limit: 10, leaseUntil: farFuture).first { $0.messageID == raced },
                         "and it left the queue")
        }
    }

    /// Two stores on one database (two servers) claiming at once: every queued message is claimed exactly once.
    func claimsEachRefinementOnce() throws {
        let later = Timestamp(microseconds: Timestamp.now().microseconds + 60_000_000)
        try claimsEachOnce(count: 200, what: "message") { first in
            for index in 0..<200 { _ = try first.insertMessage(queued(Int64(index + 1), "m\(index)", urgency: Double(index % 5 + 1))) }
        } claim: { store in
            try store.claimRefinements(now: later, limit: 3, leaseUntil: later).map(\.messageID)
        }
    }
}
