import Foundation
import Support
import Synchronization

/// Sends webhook deliveries: a few threads of their own claim due deliveries from the store, POST each with libcurl
/// (a deadline, TLS verified, no redirects), signed as Standard Webhooks asks, and record the outcome: delivered on
/// a 2xx, else retried with exponential backoff and jitter until `maximumAge`, then failed. A slow or dead
/// receiver holds only these threads: the API and the scoring never wait for it.
final class WebhookSender: @unchecked Sendable {
    private let store: any Store
    private let configuration: WebhookConfiguration
    private let signature: WebhookSignature
    private let handles = CurlHandlePool(maximumIdle: 8)
    /// Deliveries claimed at once by one thread.
    static let batchSize = 32
    private var worker: RepeatingWorker?

    init(store: any Store, configuration: WebhookConfiguration, signature: WebhookSignature) {
        self.store = store
        self.configuration = configuration
        self.signature = signature
        // Idle, a thread looks for due deliveries every 0.1 s: a new one is sent within about that.
        worker = RepeatingWorker(name: "webhook", threads: configuration.senders, pause: 0.1) { [unowned self] in sendDueBatch() }
    }

    func start() { worker?.start() }

    /// Stops after the attempts in flight (each within its timeout).
    func stop() { worker?.stop() }

    /// Claims a batch of due deliveries, attempts each, records the outcomes; whether there was a batch (then
    /// there may be more at once).
    private func sendDueBatch() -> Bool {
        let now = Timestamp.now()
        // Claimed until every attempt of the batch could have timed out, and then some.
        let lease = Timestamp(microseconds: now.microseconds + Int64(configuration.timeoutMilliseconds * WebhookSender.batchSize + 30_000) * 1000)
        // A batch per claim and one transaction for its outcomes: two store writes per batch, not per delivery.
        let batch: [WebhookDelivery]
        do {
            batch = try store.claimWebhookDeliveries(now: now, limit: WebhookSender.batchSize, leaseUntil: lease)
        } catch {
            OperationsLog.shared.report("webhook_failure", "due deliveries cannot be claimed", [("detail", "\(error)")])
            batch = []
        }
        prune(now: now)
        guard !batch.isEmpty else { return false }
        let results = batch.map { delivery in
            var result = attempt(delivery)
            result.claim = delivery.lockedUntil
            return result
        }
        do {
            try store.finishWebhookDeliveries(results)
        } catch {
            OperationsLog.shared.report("webhook_failure", "the outcome of \(results.count) deliveries could not be recorded: they will be sent again",
                                        [("detail", "\(error)")])
        }
        return true
    }

    /// Deliveries kept (delivered and failed ones beyond are deleted, once a minute, by one of the threads).
    static let retainedDeliveries = 100_000
    private let lastPrune = Atomic<Int64>(0)

    private func prune(now: Timestamp) {
        let last = lastPrune.load(ordering: .relaxed)
        guard now.microseconds - last >= 60_000_000,
              lastPrune.compareExchange(expected: last, desired: now.microseconds, ordering: .relaxed).exchanged else { return }
        try? store.pruneWebhookDeliveries(keeping: WebhookSender.retainedDeliveries)
    }

    /// One attempt: the body (the one of the first attempt, when there was one), signed, POSTed.
    func attempt(_ delivery: WebhookDelivery) -> WebhookDeliveryResult {
        let body = delivery.body ?? WebhookSender.body(for: delivery)
        let attemptedAt = Timestamp.now()
        let id = "evt_\(delivery.eventID)"
        let timestamp = attemptedAt.microseconds / 1_000_000
        let headers = ["Content-Type: application/json", "webhook-id: \(id)", "webhook-timestamp: \(timestamp)",
                       "webhook-signature: \(signature.sign(id: id, timestamp: timestamp, body: Array(body.utf8)))"]
        let outcome = handles.withHandle { handle in
            handle.post(url: delivery.url, headers: headers, body: Array(body.utf8), timeoutMilliseconds: configuration.timeoutMilliseconds,
                        connectTimeoutMilliseconds: min(configuration.timeoutMilliseconds, 3000))
        } ?? .failure(CurlFailure(kind: .other, message: "cannot create a libcurl handle"))
        var status: Int?
        let error: String?
        switch outcome {
        case .success(let response):
            status = response.status
            error = (200..<300).contains(response.status) ? nil : "http \(response.status)"
        case .failure(let failure):
            error = failure.message
        }
        guard let error else {
            return WebhookDeliveryResult(id: delivery.id, body: body, attemptedAt: attemptedAt, httpStatus: status, error: nil, outcome: .delivered)
        }
        // The next attempt, but never after the last moment: one attempt is made at WEBHOOK_MAX_AGE, then it fails.
        let deadline = delivery.createdAt.microseconds + Int64(configuration.maximumAge * 1e6)
        let delay = configuration.retryDelay(attempt: delivery.attempts + 1) * Double.random(in: 0.5...1.5)
        let next = min(attemptedAt.microseconds + Int64(delay * 1e6), deadline)
        let giveUp = attemptedAt.microseconds >= deadline
        OperationsLog.shared.report("webhook_failure", giveUp ? "delivery failed for good: \(error)" : "delivery failed, will retry: \(error)",
                                    level: giveUp ? "error" : "warning",
                                    [("delivery_id", String(delivery.id)), ("url", WebhookRoutes.redacted(delivery.url)),
                                     ("attempts", String(delivery.attempts + 1))])
        return WebhookDeliveryResult(id: delivery.id, body: body, attemptedAt: attemptedAt, httpStatus: status, error: error,
                                     outcome: giveUp ? .failed : .retry(at: Timestamp(microseconds: next)))
    }

    /// `{"type": …, "timestamp": …, "data": {…}}`: the message's public fields for message events (as they are at
    /// the first attempt), the stored details otherwise.
    static func body(for delivery: WebhookDelivery) -> String {
        var data: JSONValue
        if let message = delivery.message {
            var object: [String: JSONValue] = [
                "message_id": .integer(message.id), "user_id": .integer(message.customerID), "urgency": .number(message.urgency),
                "status": .string(message.status.rawValue), "assigned_to": message.assignedTo.map(JSONValue.string) ?? .null,
                "timestamp": .string(message.createdAt.isoformat), "message": .string(delivery.messageText ?? message.preview),
            ]
            if let change = delivery.change { object["change"] = .string(change) }
            data = .object(object)
        } else if let detail = delivery.detail, let parsed = try? JSONParser.parse(Array(detail.utf8)) {
            data = parsed
        } else {
            data = .object([:])
        }
        let timestamp = delivery.createdAt.isoformat + "Z"
        return JSONValue.object(["type": .string(delivery.type), "timestamp": .string(timestamp), "data": data]).jsonText
    }
}
