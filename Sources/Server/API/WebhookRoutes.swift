import Support

/// The webhook deliveries, for admins: `GET /api/webhooks/deliveries` (the newest first, with status, attempts,
/// the last error and the next attempt) and `POST /api/webhooks/deliveries/{id}/retry` (send it again now).
struct WebhookRoutes {
    let store: any WebhookStore
    let audit: AuditTrail

    var routes: [Route] {
        [
            Route("GET", "/api/webhooks/deliveries", access: .admin) { request, _ in
                var limit = 100
                if let text = request.queryValue("limit") {
                    guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let value = Int(text), (1...1000).contains(value) else {
                        throw HTTPError.badRequest("limit must be an integer from 1 to 1000")
                    }
                    limit = value
                }
                return .json(.array(try store.webhookDeliveries(limit: limit).map(WebhookRoutes.json)))
            },
            Route("POST", "/api/webhooks/deliveries/{id}/retry", access: .admin) { request, parameters in
                switch try store.retryWebhookDelivery(id: parameters.id, now: .now()) {
                case .queued:
                    audit.record(request.auditEntry("webhook.retry", detail: ["delivery": .integer(parameters.id)]))
                    return .json(["success": true])
                case .notFound: throw HTTPError.notFound("no webhook delivery \(parameters.id)")
                case .inFlight: throw HTTPError.conflict("delivery \(parameters.id) is being sent right now: see its outcome first")
                }
            },
        ]
    }

    /// A URL without what may be a credential: the user and password, the query string.
    static func redacted(_ url: String) -> String {
        var text = url
        if let query = text.firstIndex(of: "?") { text = String(text[..<query]) + "?…" }
        if let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
           !text[scheme.upperBound..<at].contains("/") {
            text = String(text[..<scheme.upperBound]) + "…@" + String(text[text.index(after: at)...])
        }
        return text
    }

    static func json(_ delivery: WebhookDelivery) -> JSONValue {
        [
            "id": .integer(delivery.id), "event_id": .integer(delivery.eventID), "type": .string(delivery.type),
            "message_id": delivery.message.map { .integer($0.id) } ?? .null, "url": .string(WebhookRoutes.redacted(delivery.url)),
            "status": .string(delivery.status.rawValue), "attempts": .integer(Int64(delivery.attempts)),
            "created_at": .string(delivery.createdAt.isoformat),
            "last_attempt_at": delivery.lastAttemptAt.map { .string($0.isoformat) } ?? .null,
            "last_status": delivery.lastStatus.map { .integer(Int64($0)) } ?? .null,
            "last_error": delivery.lastError.map(JSONValue.string) ?? .null,
            "next_attempt_at": delivery.status == .pending ? .string(delivery.nextAttemptAt.isoformat) : .null,
        ]
    }
}
