import Foundation
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The webhook role of the store contract.
extension StoreContract {
    private func message(_ customer: Int64, _ body: String, urgency: Double) -> NewMessage {
        NewMessage(customerID: customer, body: body, createdAt: .now(), urgency: urgency, rulesVersion: "v", breakdown: .null)
    }

    /// Every event becomes one delivery per endpoint that wants it, in the change's own transaction; deliveries of one
    /// message are handed out in order; results, retries and the list are kept.
    func queuesWebhookDeliveries() throws {
        try withStore { store in
            _ = try store.insertMessage(message(1, "before any endpoint", urgency: 5))
            try store.configureWebhookEndpoints([
                WebhookEndpoint(url: "http://a.example/hook"),
                WebhookEndpoint(url: "http://b.example/hook", events: ["message.created"], minimumUrgency: 4),
            ])
            let now = Timestamp.now()
            let later = Timestamp(microseconds: now.microseconds + 60_000_000)
            XCTAssertEqual(try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later), [], "no endpoint, no delivery")
            let low = try store.insertMessage(message(2, "low", urgency: 2))
            let high = try store.insertMessage(message(3, "high \"quoted\" ünï", urgency: 4.5))
            XCTAssertTrue(try store.addReply(messageID: high, agentName: "Ann", text: "on it", at: .now()))
            let claimed = try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later)
            // a: created(low), created(high); the reply to high waits for created(high). b: created(high) only.
            XCTAssertEqual(claimed.map(\.type), ["message.created", "message.created", "message.created"])
            XCTAssertEqual(claimed.map(\.url), ["http://a.example/hook", "http://a.example/hook", "http://b.example/hook"])
            XCTAssertEqual(claimed.map { $0.message?.id }, [low, high, high])
            XCTAssertEqual(claimed[1].messageText, "high \"quoted\" ünï")
            XCTAssertEqual(try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later), [], "claimed ones are leased")
            for delivery in claimed {
                try store.finishWebhookDelivery(WebhookDeliveryResult(id: delivery.id, body: "{\"n\":\(delivery.id)}", attemptedAt: now,
                                                                      httpStatus: 200, error: nil, outcome: .delivered))
            }
            let reply = try XCTUnwrap(try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later).first)
            XCTAssertEqual(reply.type, "message.updated")
            XCTAssertEqual(reply.change, "reply")
            let retryAt = Timestamp(microseconds: later.microseconds + 5_000_000)
            try store.finishWebhookDelivery(WebhookDeliveryResult(id: reply.id, body: "{\"first\":1}", attemptedAt: later, httpStatus: 500,
                                                                  error: "http 500", outcome: .retry(at: retryAt)))
            XCTAssertEqual(try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later), [], "not due yet")
            let again = try XCTUnwrap(try store.claimWebhookDeliveries(now: retryAt, limit: 10, leaseUntil: retryAt).first)
            XCTAssertEqual(again.attempts, 1)
            XCTAssertEqual(again.body, "{\"first\":1}", "the body is fixed at the first attempt")
            XCTAssertEqual(again.lastError, "http 500")
            try store.finishWebhookDelivery(WebhookDeliveryResult(id: again.id, body: "{\"second\":2}", attemptedAt: retryAt, httpStatus: 500,
                                                                  error: "http 500", outcome: .failed))
            let listed = try store.webhookDeliveries(limit: 10)
            XCTAssertEqual(listed.first?.id, again.id)
            XCTAssertEqual(listed.first?.status, .failed)
            XCTAssertEqual(listed.first?.attempts, 2)
            XCTAssertEqual(listed.first?.body, "{\"first\":1}")
            XCTAssertEqual(listed.filter { $0.status == .delivered }.count, 3)
            XCTAssertTrue(listed.filter { $0.status == .delivered }.allSatisfy { $0.body == nil }, "a delivered body is never sent again: not kept")
            XCTAssertEqual(try store.retryWebhookDelivery(id: again.id, now: retryAt), .queued)
            XCTAssertEqual(try store.retryWebhookDelivery(id: 999_999, now: retryAt), .notFound)
            let lease = Timestamp(microseconds: retryAt.microseconds + 30_000_000)
            let inFlight = try store.claimWebhookDeliveries(now: retryAt, limit: 10, leaseUntil: lease)
            XCTAssertEqual(inFlight.map(\.id), [again.id])
            XCTAssertEqual(inFlight.first?.lockedUntil, lease)
            XCTAssertEqual(try store.retryWebhookDelivery(id: again.id, now: retryAt), .inFlight, "never under a sender's feet")
            // An outcome recorded under a claim that is no longer the delivery's changes nothing.
            try store.finishWebhookDelivery(WebhookDeliveryResult(id: again.id, claim: retryAt, body: "{}", attemptedAt: retryAt,
                                                                  httpStatus: 200, error: nil, outcome: .delivered))
            XCTAssertEqual(try store.webhookDeliveries(limit: 10).first { $0.id == again.id }?.status, .pending)
            try store.finishWebhookDelivery(WebhookDeliveryResult(id: again.id, claim: lease, body: "{}", attemptedAt: retryAt,
                                                                  httpStatus: 200, error: nil, outcome: .delivered))
            XCTAssertEqual(try store.webhookDeliveries(limit: 10).first { $0.id == again.id }?.status, .delivered)
            // An endpoint no longer configured gets nothing new, and what it had pending is failed, saying why.
            _ = try store.insertMessage(message(5, "pending for a", urgency: 1))
            try store.configureWebhookEndpoints([WebhookEndpoint(url: "http://b.example/hook")])
            let dropped = try XCTUnwrap(try store.webhookDeliveries(limit: 1).first)
            XCTAssertEqual(dropped.status, .failed)
            XCTAssertEqual(dropped.lastError, "endpoint removed from the configuration")
            _ = try store.insertMessage(message(4, "after", urgency: 1))
            XCTAssertEqual(try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later).map(\.url), ["http://b.example/hook"])
            // Old finished deliveries are pruned; pending ones never.
            try store.pruneWebhookDeliveries(keeping: 0)
            XCTAssertEqual(try store.webhookDeliveries(limit: 100).map(\.status), [.pending])
        }
    }

    /// A delivery that must be tried again holds back the later deliveries of its message to its endpoint until
    /// its next attempt (they are not due before it, so a claim does not read them meanwhile); others are not held.
    func holdsBackTheDeliveriesBehindARetry() throws {
        try withStore { store in
            try store.configureWebhookEndpoints([WebhookEndpoint(url: "http://a.example/hook"), WebhookEndpoint(url: "http://b.example/hook")])
            let first = try store.insertMessage(message(1, "first", urgency: 3))
            let other = try store.insertMessage(message(2, "other", urgency: 3))
            let now = Timestamp.now()
            let later = Timestamp(microseconds: now.microseconds + 60_000_000)
            let claimed = try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later)
            XCTAssertEqual(claimed.count, 4, "created, for each message and endpoint")
            XCTAssertTrue(try store.addReply(messageID: first, agentName: "Ann", text: "on it", at: .now()))
            XCTAssertTrue(try store.addReply(messageID: other, agentName: "Ann", text: "on it", at: .now()))
            let retryAt = Timestamp(microseconds: later.microseconds + 300_000_000)
            let head = try XCTUnwrap(claimed.first { $0.message?.id == first && $0.url == "http://a.example/hook" })
            for delivery in claimed {
                let outcome: WebhookDeliveryResult.Outcome = delivery.id == head.id ? .retry(at: retryAt) : .delivered
                try store.finishWebhookDelivery(WebhookDeliveryResult(id: delivery.id, body: "{}", attemptedAt: later, httpStatus: 500,
                                                                      error: nil, outcome: outcome))
            }
            let pending = try store.webhookDeliveries(limit: 20).filter { $0.status == .pending }
            let held = pending.filter { $0.message?.id == first && $0.url == "http://a.example/hook" && $0.id != head.id }
            XCTAssertEqual(held.count, 1, "the reply to the first message, for a")
            XCTAssertEqual(held.first?.nextAttemptAt, retryAt, "waits for the head's next attempt")
            let free = pending.filter { $0.id != head.id && !held.contains($0) }
            XCTAssertEqual(free.count, 3, "the replies to the other message, and the first's for b")
            XCTAssertTrue(free.allSatisfy { $0.nextAttemptAt.microseconds < later.microseconds }, "not held")
            let due = try store.claimWebhookDeliveries(now: later, limit: 10, leaseUntil: later)
            XCTAssertEqual(Set(due.map(\.id)), Set(free.map(\.id)))
            for delivery in due {
                try store.finishWebhookDelivery(WebhookDeliveryResult(id: delivery.id, body: "{}", attemptedAt: later, httpStatus: 200,
                                                                      error: nil, outcome: .delivered))
            }
            let afterRetry = try store.claimWebhookDeliveries(now: retryAt, limit: 10, leaseUntil: retryAt)
            XCTAssertEqual(afterRetry.map(\.id), [head.id], "the head first, its follower after it is delivered")
        }
    }

    /// Two servers claiming at once never take the same delivery.
    func claimsEachWebhookDeliveryOnce() throws {
        let later = Timestamp(microseconds: Timestamp.now().microseconds + 60_000_000)
        try claimsEachOnce(count: 200, what: "delivery") { first in
            try first.configureWebhookEndpoints([WebhookEndpoint(url: "http://a.example/hook")])
            for index in 0..<200 { _ = try first.insertMessage(message(Int64(index + 1), "m\(index)", urgency: 3)) }
        } claim: { store in
            try store.claimWebhookDeliveries(now: later, limit: 7, leaseUntil: later).map(\.id)
        }
    }
}
