import Support

/// The overdue role on SQLite: one writer, so a message is reported once.
extension SQLiteStore {
    public func reportOverdue(now: Timestamp, limit: Int) throws(StoreError) -> Int {
        try writer.perform { connection throws(SQLiteError) in
            var ids: [Int64] = []
            try connection.query(SQLiteStore.overdueToReportSQL, [.integer(now.microseconds), .integer(Int64(limit))]) {
                ids.append($0.integer(0))
            }
            for id in ids {
                try connection.query("UPDATE messages SET overdue_notified = 1 WHERE id = ?", [.integer(id)])
                try connection.query("INSERT INTO events(type, message_id) VALUES ('message.overdue', ?)", [.integer(id)])
            }
            return ids.count
        }
    }

    /// The overdue messages not reported yet, earliest due first: parameters now, limit. The partial index holds
    /// exactly them. It is named because the planner (SQLite keeps no statistics here) preferred the status
    /// index, reading every open message once a second on the writer: a stall that grew with the table.
    static let overdueToReportSQL = """
        SELECT id FROM messages INDEXED BY messages_overdue
        WHERE first_response_at IS NULL AND overdue_notified = 0 AND status = 'open' AND first_response_due IS NOT NULL
          AND first_response_due < ?
        ORDER BY first_response_due LIMIT ?
        """

    /// How many open messages are past their first-response target: parameter now (through `messages_status_due`,
    /// reading the overdue messages only).
    static let overdueCountSQL = "SELECT count(*) FROM messages WHERE \(KeysetPaging.overdue(at: "?"))"

    public func overdueCount(now: Timestamp) throws(StoreError) -> Int {
        try readers.read { connection throws(SQLiteError) in
            Int(try connection.scalar(SQLiteStore.overdueCountSQL, [.integer(now.microseconds)]))
        }
    }
}
