import Support

/// The webhook role on SQLite: claims and results go through the one writer, so claims never overlap.
extension SQLiteStore {
    public func configureWebhookEndpoints(_ endpoints: [WebhookEndpoint]) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("UPDATE webhook_endpoints SET enabled = 0")
            for endpoint in endpoints {
                try connection.query("""
                    INSERT INTO webhook_endpoints(url, events, min_urgency, enabled) VALUES (?, ?, ?, 1)
                    ON CONFLICT (url) DO UPDATE SET events = excluded.events, min_urgency = excluded.min_urgency, enabled = 1
                    """, [.text(endpoint.url), .text(endpoint.events?.joined(separator: ",") ?? "*"),
                          endpoint.minimumUrgency.map(SQLiteValue.real) ?? .null])
            }
            // What was still pending for an endpoint no longer configured will never be sent: say so.
            try connection.query("""
                UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint removed from the configuration', locked_until = NULL
                WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled = 0)
                """)
        }
    }

    /// The due deliveries, earliest due first, in the order of their index (status, due time, id): the walk stops
    /// at `limit`, however many are pending (ordered by id it read and sorted every due delivery on each claim).
    public func claimWebhookDeliveries(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [WebhookDelivery] {
        try writer.perform { connection throws(SQLiteError) in
            var ids: [Int64] = []
            try connection.query("""
                SELECT d.id FROM webhook_deliveries d
                WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND coalesce(d.locked_until, 0) < ?
                  AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.enabled)
                  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.status = 'pending' AND p.endpoint_id = d.endpoint_id
                                  AND p.message_id = d.message_id AND p.id < d.id)
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """, [.integer(now.microseconds), .integer(now.microseconds), .integer(Int64(limit))]) { ids.append($0.integer(0)) }
            guard !ids.isEmpty else { return [] }
            let list = ids.map(String.init).joined(separator: ",")
            try connection.query("UPDATE webhook_deliveries SET locked_until = ? WHERE id IN (\(list))", [.integer(leaseUntil.microseconds)])
            return try SQLiteStore.deliveries(connection, where: "d.id IN (\(list))", order: "d.id", limit: ids.count)
        }
    }

    public func finishWebhookDeliveries(_ results: [WebhookDeliveryResult]) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            for result in results {
                let (status, next) = result.storedStatus
                try connection.query("""
                    UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, last_attempt_at = ?, last_status = ?,
                        last_error = ?, body = coalesce(body, ?), next_attempt_at = coalesce(?, next_attempt_at), locked_until = NULL
                    WHERE id = ? AND (? IS NULL OR locked_until = ?)
                    """, [.text(status), .integer(result.attemptedAt.microseconds), result.httpStatus.map { .integer(Int64($0)) } ?? .null,
                          result.error.map(SQLiteValue.text) ?? .null, result.bodyToKeep.map(SQLiteValue.text) ?? .null, next.map(SQLiteValue.integer) ?? .null,
                          .integer(result.id), result.claim.map { .integer($0.microseconds) } ?? .null,
                          result.claim.map { .integer($0.microseconds) } ?? .null])
                if let next, connection.changes > 0 {
                    // The message's later deliveries to this endpoint go after this one: they wait for its next
                    // attempt too, so that meanwhile claims do not read them, due and blocked, again and again.
                    try connection.query("""
                        UPDATE webhook_deliveries SET next_attempt_at = ?
                        WHERE status = 'pending' AND next_attempt_at < ? AND id > ?
                          AND endpoint_id = (SELECT endpoint_id FROM webhook_deliveries WHERE id = ?)
                          AND message_id = (SELECT message_id FROM webhook_deliveries WHERE id = ?)
                        """, [.integer(next), .integer(next), .integer(result.id), .integer(result.id), .integer(result.id)])
                }
            }
        }
    }

    public func webhookDeliveries(limit: Int) throws(StoreError) -> [WebhookDelivery] {
        try readers.read { connection throws(SQLiteError) in
            try SQLiteStore.deliveries(connection, where: "1", order: "d.id DESC", limit: limit)
        }
    }

    public func retryWebhookDelivery(id: Int64, now: Timestamp) throws(StoreError) -> WebhookRetryOutcome {
        try writer.perform { connection throws(SQLiteError) in
            var found: (status: String, lockedUntil: Int64?)?
            try connection.query("SELECT status, locked_until FROM webhook_deliveries WHERE id = ?", [.integer(id)]) {
                found = ($0.text(0), $0.optionalInteger(1))
            }
            guard let found else { return .notFound }
            if found.status == "pending", let lease = found.lockedUntil, lease > now.microseconds { return .inFlight }
            try connection.query("""
                UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, locked_until = NULL WHERE id = ?
                """, [.integer(now.microseconds), .integer(id)])
            return .queued
        }
    }

    public func pruneWebhookDeliveries(keeping keep: Int) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("""
                DELETE FROM webhook_deliveries WHERE status <> 'pending' AND id <= (SELECT max(id) FROM webhook_deliveries) - ?
                """, [.integer(Int64(keep))])
        }
    }

    private static func deliveries(_ connection: SQLiteConnection, where condition: String, order: String, limit: Int)
        throws(SQLiteError) -> [WebhookDelivery] {
        var found: [WebhookDelivery] = []
        try connection.query("""
            SELECT d.id, d.event_id, w.url, d.type, d.change, d.detail, d.status, d.attempts, d.created_at, d.next_attempt_at,
                   d.last_attempt_at, d.last_status, d.last_error, d.body,
                   m.id, m.customer_id, m.urgency, m.status, m.assigned_to, m.created_at, m.body, d.locked_until
            FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id LEFT JOIN messages m ON m.id = d.message_id
            WHERE \(condition) ORDER BY \(order) LIMIT ?
            """, [.integer(Int64(limit))]) { row in
            var message: EventMessage?
            if !row.isNull(14) {
                let text = row.text(20)
                message = EventMessage(id: row.integer(14), customerID: row.integer(15), urgency: row.real(16),
                                       status: MessageStatus(rawValue: row.text(17)) ?? .open, assignedTo: row.optionalText(18),
                                       createdAt: Timestamp(microseconds: row.integer(19)), preview: String(text.prefix(200)))
            }
            found.append(WebhookDelivery(
                id: row.integer(0), eventID: row.integer(1), url: row.text(2), type: row.text(3), change: row.optionalText(4),
                detail: row.optionalText(5), status: WebhookDelivery.Status(rawValue: row.text(6)) ?? .pending, attempts: Int(row.integer(7)),
                createdAt: Timestamp(microseconds: row.integer(8)), nextAttemptAt: Timestamp(microseconds: row.integer(9)),
                lastAttemptAt: row.optionalInteger(10).map(Timestamp.init(microseconds:)), lastStatus: row.optionalInteger(11).map { Int($0) },
                lastError: row.optionalText(12), body: row.optionalText(13), message: message, messageText: message == nil ? nil : row.text(20))
                .withLock(row.optionalInteger(21)))
        }
        return found
    }
}
