import Support

/// The overdue role on SQLite: one writer, so a message is reported once.
extension SQLiteStore {
    public func reportOverdue(now: Timestamp, limit: Int) throws(StoreError) -> Int {
        try writer.perform { connection throws(SQLiteError) in
            var ids: [Int64] = []
            try connection.query("""
                SELECT id FROM messages
                WHERE first_response_at IS NULL AND overdue_notified = 0 AND status = 'open' AND first_response_due IS NOT NULL
                  AND first_response_due < ?
                ORDER BY first_response_due LIMIT ?
                """, [.integer(now.microseconds), .integer(Int64(limit))]) { ids.append($0.integer(0)) }
            for id in ids {
                try connection.query("UPDATE messages SET overdue_notified = 1 WHERE id = ?", [.integer(id)])
                try connection.query("INSERT INTO events(type, message_id) VALUES ('message.overdue', ?)", [.integer(id)])
            }
            return ids.count
        }
    }

    public func overdueCount(now: Timestamp) throws(StoreError) -> Int {
        try readers.read { connection throws(SQLiteError) in
            Int(try connection.scalar("""
                SELECT count(*) FROM messages
                WHERE first_response_at IS NULL AND status = 'open' AND first_response_due IS NOT NULL AND first_response_due < ?
                """, [.integer(now.microseconds)]))
        }
    }
}
