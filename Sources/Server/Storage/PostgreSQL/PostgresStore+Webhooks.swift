import Support

/// The webhook role on PostgreSQL: several servers send at once; each claims due deliveries with
/// `FOR UPDATE SKIP LOCKED`, so every delivery is attempted by one server at a time.
extension PostgresStore {
    public func configureWebhookEndpoints(_ endpoints: [WebhookEndpoint]) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) in
                try connection.query("UPDATE webhook_endpoints SET enabled = false WHERE NOT (url = ANY($1::text[]))",
                                     [.texts(endpoints.map(\.url))])
                for endpoint in endpoints {
                    try connection.query("""
                        INSERT INTO webhook_endpoints(url, events, min_urgency, enabled) VALUES ($1, $2, $3, true)
                        ON CONFLICT (url) DO UPDATE SET events = excluded.events, min_urgency = excluded.min_urgency, enabled = true
                        """, [.text(endpoint.url), .text(endpoint.events?.joined(separator: ",") ?? "*"),
                              endpoint.minimumUrgency.map(PostgresValue.real) ?? .null])
                }
                // What was still pending for an endpoint no longer configured will never be sent: say so.
                try connection.query("""
                    UPDATE webhook_deliveries SET status = 'failed', last_error = 'endpoint removed from the configuration', locked_until = NULL
                    WHERE status = 'pending' AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE NOT enabled)
                    """)
            }
        }
    }

    /// The due deliveries, earliest due first (the order of the index on status and due time, so the walk stops at
    /// `limit` however many are pending), each locked once across the fleet.
    public func claimWebhookDeliveries(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [WebhookDelivery] {
        try pool.withConnection { connection throws(PostgresError) in
            let claimed = try connection.query("""
                UPDATE webhook_deliveries SET locked_until = $3 WHERE id IN (
                    SELECT d.id FROM webhook_deliveries d
                    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND coalesce(d.locked_until, 0) < $1
                      AND EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.id = d.endpoint_id AND w.enabled)
                      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.status = 'pending' AND p.endpoint_id = d.endpoint_id
                                      AND p.message_id = d.message_id AND p.id < d.id)
                    ORDER BY d.next_attempt_at, d.id LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING id
                """, [.integer(now.microseconds), .integer(Int64(limit)), .integer(leaseUntil.microseconds)])
            let ids = (0..<claimed.count).map { claimed.integer($0, 0) }
            guard !ids.isEmpty else { return [] }
            return try PostgresStore.deliveries(connection, where: "d.id = ANY($2::bigint[])", order: "d.id", limit: ids.count,
                                                extra: [.integers(ids)])
        }
    }

    public func finishWebhookDeliveries(_ results: [WebhookDeliveryResult]) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) in
                for result in results {
                    let (status, next) = result.storedStatus
                    let recorded = try connection.query("""
                        UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, last_attempt_at = $3, last_status = $4,
                            last_error = $5, body = coalesce(body, $6), next_attempt_at = coalesce($7, next_attempt_at), locked_until = NULL
                        WHERE id = $1 AND ($8::bigint IS NULL OR locked_until = $8)
                        """, [.integer(result.id), .text(status), .integer(result.attemptedAt.microseconds),
                              result.httpStatus.map { .integer(Int64($0)) } ?? .null, result.error.map(PostgresValue.text) ?? .null,
                              result.bodyToKeep.map(PostgresValue.text) ?? .null, next.map(PostgresValue.integer) ?? .null,
                              result.claim.map { .integer($0.microseconds) } ?? .null]).affected
                    if let next, recorded > 0 {
                        // The message's later deliveries to this endpoint go after this one: they wait for its next
                        // attempt too, so that meanwhile claims do not read them, due and blocked, again and again.
                        try connection.query("""
                            UPDATE webhook_deliveries d SET next_attempt_at = $2
                            FROM webhook_deliveries h
                            WHERE h.id = $1 AND d.status = 'pending' AND d.endpoint_id = h.endpoint_id AND d.message_id = h.message_id
                              AND d.id > $1 AND d.next_attempt_at < $2
                            """, [.integer(result.id), .integer(next)])
                    }
                }
            }
        }
    }

    public func webhookDeliveries(limit: Int) throws(StoreError) -> [WebhookDelivery] {
        try pool.withConnection { connection throws(PostgresError) in
            try PostgresStore.deliveries(connection, where: "true", order: "d.id DESC", limit: limit, extra: [])
        }
    }

    public func retryWebhookDelivery(id: Int64, now: Timestamp) throws(StoreError) -> WebhookRetryOutcome {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) -> WebhookRetryOutcome in
                let rows = try connection.query("SELECT status, locked_until FROM webhook_deliveries WHERE id = $1 FOR UPDATE", [.integer(id)])
                guard rows.count > 0 else { return .notFound }
                if rows.text(0, 0) == "pending", let lease = rows.optionalInteger(0, 1), lease > now.microseconds { return .inFlight }
                try connection.query("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $2, locked_until = NULL WHERE id = $1",
                                     [.integer(id), .integer(now.microseconds)])
                return .queued
            }
        }
    }

    public func pruneWebhookDeliveries(keeping keep: Int) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                DELETE FROM webhook_deliveries WHERE status <> 'pending' AND id <= (SELECT max(id) FROM webhook_deliveries) - $1
                """, [.integer(Int64(keep))])
        }
    }

    private static func deliveries(_ connection: PostgresConnection, where condition: String, order: String, limit: Int,
                                   extra: [PostgresValue]) throws(PostgresError) -> [WebhookDelivery] {
        let rows = try connection.query("""
            SELECT d.id, d.event_id, w.url, d.type, d.change, d.detail, d.status, d.attempts, d.created_at, d.next_attempt_at,
                   d.last_attempt_at, d.last_status, d.last_error, d.body,
                   m.id, m.customer_id, m.urgency, m.status, m.assigned_to, m.created_at, m.body, d.locked_until
            FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id LEFT JOIN messages m ON m.id = d.message_id
            WHERE \(condition) ORDER BY \(order) LIMIT $1
            """, [.integer(Int64(limit))] + extra)
        return (0..<rows.count).map { row in
            var message: EventMessage?
            if !rows.isNull(row, 14) {
                message = EventMessage(id: rows.integer(row, 14), customerID: rows.integer(row, 15), urgency: rows.real(row, 16),
                                       status: MessageStatus(rawValue: rows.text(row, 17)) ?? .open, assignedTo: rows.optionalText(row, 18),
                                       createdAt: Timestamp(microseconds: rows.integer(row, 19)), preview: String(rows.text(row, 20).prefix(200)))
            }
            return WebhookDelivery(
                id: rows.integer(row, 0), eventID: rows.integer(row, 1), url: rows.text(row, 2), type: rows.text(row, 3),
                change: rows.optionalText(row, 4), detail: rows.optionalText(row, 5),
                status: WebhookDelivery.Status(rawValue: rows.text(row, 6)) ?? .pending, attempts: Int(rows.integer(row, 7)),
                createdAt: Timestamp(microseconds: rows.integer(row, 8)), nextAttemptAt: Timestamp(microseconds: rows.integer(row, 9)),
                lastAttemptAt: rows.optionalInteger(row, 10).map(Timestamp.init(microseconds:)),
                lastStatus: rows.optionalInteger(row, 11).map { Int($0) }, lastError: rows.optionalText(row, 12),
                body: rows.optionalText(row, 13), message: message, messageText: message == nil ? nil : rows.text(row, 20))
                .withLock(rows.optionalInteger(row, 21))
        }
    }
}
