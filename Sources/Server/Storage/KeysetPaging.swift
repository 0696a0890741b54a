/// Keyset paging of a message listing, the same on both stores: the ORDER BY of the sort, the row comparison
/// that starts after the cursor, and the one extra row read that tells whether there is a next page.
struct KeysetPaging {
    /// A value of the cursor's key, for the store to bind.
    enum KeyValue {
        case real(Double)
        case integer(Int64)
    }

    /// `ORDER BY` text, most urgent (or newest) first, the id breaking ties.
    let order: String
    /// The key columns, as compared with the cursor.
    let columns: [String]
    /// The cursor's key, in the order of `columns`; empty on the first page.
    let after: [KeyValue]
    /// Ascending (`due`) rather than descending.
    let ascending: Bool

    /// The `due` order's key: the first-response due time while unanswered, else after every due time. Both stores
    /// index exactly this expression (per status), so the listing walks an index.
    static let dueKey = "(CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL THEN first_response_due "
        + "ELSE 9223372036854775807 END)"

    /// The condition that a message is overdue at `now` (a placeholder): open, and its `due` key below it. Written
    /// as the key both stores index (per status), so that a listing or count reads the overdue part of that index
    /// only.
    static func overdue(at now: String) -> String { "status = 'open' AND \(dueKey) < \(now)" }

    init(_ query: MessageQuery, id: String) {
        switch query.sort {
        case .urgency:
            columns = ["urgency", "created_at", id]
            after = query.after.map { [.real($0.urgency), .integer($0.createdAt.microseconds), .integer($0.id)] } ?? []
            ascending = false
        case .time:
            columns = ["created_at", id]
            after = query.after.map { [.integer($0.createdAt.microseconds), .integer($0.id)] } ?? []
            ascending = false
        case .due:
            columns = [KeysetPaging.dueKey, id]
            after = query.after.map { [.integer($0.dueKey), .integer($0.id)] } ?? []
            ascending = true
        }
        let direction = ascending ? " ASC" : " DESC"
        order = columns.map { $0 + direction }.joined(separator: ", ")
    }

    /// The filter that starts after the cursor, `placeholder` giving the store's placeholder for each value it
    /// binds (in order); nil on the first page. The row comparison comes with a bound on the first key column
    /// alone (implied by it): SQLite uses a row value as an index range only for some orders, and without it
    /// the `due` order walked its index from the start on every later page.
    func afterFilter(_ placeholder: (KeyValue) -> String) -> String? {
        guard let first = after.first else { return nil }
        let bound = "\(columns[0]) \(ascending ? ">=" : "<=") \(placeholder(first))"
        return "\(bound) AND (\(columns.joined(separator: ", "))) \(ascending ? ">" : "<") (\(after.map(placeholder).joined(separator: ", ")))"
    }

    /// Rows to read: the page and one more.
    static func rowsToRead(_ query: MessageQuery) -> Int64 { Int64(query.limit + 1) }

    /// Drops the extra row read, if any: then there is a next page, starting after the last message kept.
    static func cut(_ messages: inout [Message], _ query: MessageQuery) -> PageCursor? {
        guard messages.count > query.limit else { return nil }
        messages.removeLast(messages.count - query.limit)
        return messages.last.map { PageCursor(after: $0, sort: query.sort) }
    }
}
