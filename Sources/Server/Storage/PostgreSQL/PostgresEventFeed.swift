import Foundation
import Support

/// The PostgreSQL event feed. Several servers write, and sequence numbers are taken before their transactions
/// commit, so an event with a lower id can become visible after a higher one: reading "ids above the last" would
/// lose it. Instead the feed reads in transaction order: only events of transactions older than the oldest one
/// still running (`pg_snapshot_xmin`), all of which have ended and are visible, by (transaction, id) after the
/// last read. Each event is returned once; the cost is that a long transaction holds the feed back while it runs.
final class PostgresEventFeed: EventFeed {
    private let pool: PostgresPool
    /// Everything at or below (transaction, id) was returned or skipped.
    private var lastTransaction: UInt64 = 0
    private var lastID: Int64 = 0
    private(set) var newestID: Int64 = 0

    init(pool: PostgresPool) throws(StoreError) {
        self.pool = pool
        try skipToEnd()
    }

    func poll(limit: Int) throws(StoreError) -> [StoredEvent] {
        let (horizon, events) = try pool.withConnection { connection throws(PostgresError) in
            let horizon = try PostgresEventFeed.horizon(connection)
            let rows = try connection.query("""
                SELECT e.xid::text, \(PostgresEventFeed.columns)
                WHERE (e.xid, e.id) > ($1::text::xid8, $2) AND e.xid < $3::text::xid8 ORDER BY e.xid, e.id LIMIT $4
                """, [.text(String(lastTransaction)), .integer(lastID), .text(String(horizon)), .integer(Int64(limit))])
            return (horizon, (0..<rows.count).map { (UInt64(rows.text($0, 0)) ?? 0, PostgresEventFeed.event(rows, $0, from: 1)) })
        }
        if events.count == limit, let last = events.last {
            (lastTransaction, lastID) = (last.0, last.1.id)
        } else {
            (lastTransaction, lastID) = (horizon, 0)
        }
        newestID = max(newestID, events.map(\.1.id).max() ?? 0)
        return events.map(\.1)
    }

    func skipToEnd() throws(StoreError) {
        let (horizon, newest) = try pool.withConnection { connection throws(PostgresError) in
            let horizon = try PostgresEventFeed.horizon(connection)
            return (horizon, try connection.scalar("SELECT coalesce(max(id), 0) FROM events WHERE xid < $1::text::xid8", [.text(String(horizon))]))
        }
        (lastTransaction, lastID) = (horizon, 0)
        newestID = max(newestID, newest)
    }

    /// Replays in delivery order, (transaction, id), after the event `id` names: event ids are not in that order
    /// when transactions overlap, so "ids above N" would lose or repeat some. (An event pruned since: ids above.)
    func replay(after id: Int64, limit: Int) throws(StoreError) -> [StoredEvent] {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                WITH anchor AS (SELECT coalesce((SELECT xid FROM events WHERE id = $1), '0'::xid8) AS xid)
                SELECT \(PostgresEventFeed.columns), anchor
                WHERE (anchor.xid = '0'::xid8 AND e.id > $1 OR anchor.xid <> '0'::xid8 AND (e.xid, e.id) > (anchor.xid, $1))
                  AND (e.xid, e.id) <= ($2::text::xid8, $3)
                ORDER BY e.xid, e.id LIMIT $4
                """, [.integer(id), .text(String(lastTransaction)), .integer(lastID), .integer(Int64(limit))])
            return (0..<rows.count).map { PostgresEventFeed.event(rows, $0, from: 0) }
        }
    }

    /// Every server's commits, this one's too, are seen by polling: this waits the whole timeout.
    func waitForCommit(timeout: Double) { Thread.sleep(forTimeInterval: timeout) }

    private static let columns = """
        e.id, e.type, e.change, e.detail, m.id, m.customer_id, m.urgency, m.status, m.assigned_to, m.created_at, left(m.body, 200)
        FROM events e LEFT JOIN messages m ON m.id = e.message_id
        """

    /// The oldest transaction still running: every older one has ended.
    private static func horizon(_ connection: PostgresConnection) throws(PostgresError) -> UInt64 {
        UInt64(try connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").text(0, 0)) ?? 0
    }

    private static func event(_ rows: PostgresRows, _ row: Int, from first: Int) -> StoredEvent {
        var event = StoredEvent(id: rows.integer(row, first), type: rows.text(row, first + 1), change: rows.optionalText(row, first + 2),
                                detail: rows.optionalText(row, first + 3))
        if !rows.isNull(row, first + 4) {
            event.message = EventMessage(id: rows.integer(row, first + 4), customerID: rows.integer(row, first + 5),
                                         urgency: rows.real(row, first + 6),
                                         status: MessageStatus(rawValue: rows.text(row, first + 7)) ?? .open,
                                         assignedTo: rows.optionalText(row, first + 8),
                                         createdAt: Timestamp(microseconds: rows.integer(row, first + 9)), preview: rows.text(row, first + 10))
        }
        return event
    }
}
