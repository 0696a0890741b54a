import Support

/// The overdue role on PostgreSQL: servers report at once; `SKIP LOCKED` gives each message to one of them.
extension PostgresStore {
    public func reportOverdue(now: Timestamp, limit: Int) throws(StoreError) -> Int {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                WITH due AS (
                    SELECT id FROM messages
                    WHERE first_response_at IS NULL AND NOT overdue_notified AND status = 'open' AND first_response_due IS NOT NULL
                      AND first_response_due < $1
                    ORDER BY first_response_due LIMIT $2 FOR UPDATE SKIP LOCKED),
                marked AS (UPDATE messages SET overdue_notified = true FROM due WHERE messages.id = due.id RETURNING messages.id)
                INSERT INTO events(type, message_id) SELECT 'message.overdue', id FROM marked ORDER BY id
                """, [.integer(now.microseconds), .integer(Int64(limit))]).affected
        }
    }

    public func overdueCount(now: Timestamp) throws(StoreError) -> Int {
        try pool.withConnection { connection throws(PostgresError) in
            Int(try connection.scalar("SELECT count(*) FROM messages WHERE \(KeysetPaging.overdue(at: "$1"))",
                                      [.integer(now.microseconds)]))
        }
    }
}
