import Support

/// The SQLite event feed: one writer numbers the events in commit order, so following it is reading the ids
/// above the last one read.
final class SQLiteEventFeed: EventFeed {
    private let readers: SQLiteReaderPool
    private let committed: CommitSignal
    /// The highest id polled (or skipped).
    private var last: Int64 = 0

    init(readers: SQLiteReaderPool, committed: CommitSignal) throws(StoreError) {
        self.readers = readers
        self.committed = committed
        try skipToEnd()
    }

    func poll(limit: Int) throws(StoreError) -> [StoredEvent] {
        let events = try read(after: last, through: Int64.max, limit: limit)
        if let newest = events.last { last = newest.id }
        return events
    }

    func skipToEnd() throws(StoreError) {
        last = try readers.read { connection throws(SQLiteError) in try connection.scalar("SELECT coalesce(max(id), 0) FROM events") }
    }

    func replay(after id: Int64, limit: Int) throws(StoreError) -> [StoredEvent] {
        try read(after: id, through: last, limit: limit)
    }

    var newestID: Int64 { last }

    func waitForCommit(timeout: Double) { committed.wait(timeout: timeout) }

    private func read(after first: Int64, through final: Int64, limit: Int) throws(StoreError) -> [StoredEvent] {
        try readers.read { connection throws(SQLiteError) in
            var events: [StoredEvent] = []
            try connection.query("""
                SELECT e.id, e.type, e.change, e.detail, m.id, m.customer_id, m.urgency, m.status, m.assigned_to, m.created_at,
                       substr(m.body, 1, 200)
                FROM events e LEFT JOIN messages m ON m.id = e.message_id
                WHERE e.id > ? AND e.id <= ? ORDER BY e.id LIMIT ?
                """, [.integer(first), .integer(final), .integer(Int64(limit))]) { row in
                var event = StoredEvent(id: row.integer(0), type: row.text(1), change: row.optionalText(2), detail: row.optionalText(3))
                if !row.isNull(4) {
                    event.message = EventMessage(id: row.integer(4), customerID: row.integer(5), urgency: row.real(6),
                                                 status: MessageStatus(rawValue: row.text(7)) ?? .open, assignedTo: row.optionalText(8),
                                                 createdAt: Timestamp(microseconds: row.integer(9)), preview: row.text(10))
                }
                events.append(event)
            }
            return events
        }
    }
}
