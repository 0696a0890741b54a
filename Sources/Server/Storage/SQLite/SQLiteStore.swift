import Foundation
import Support

/// The embedded default store: one SQLite file in WAL mode, one writer thread committing in batches, a pool of
/// read connections, foreign keys on, a trigram index for substring search.
///
/// Durability: `synchronous=NORMAL` by default, so a committed write survives a crash of the server process
/// (kill -9); `synchronous: .full` also survives a power cut, at an fsync per batch.
public final class SQLiteStore: Store {
    public enum Synchronous: String, Sendable { case normal, full }

    public let path: String
    let writer: SQLiteWriter
    let readers: SQLiteReaderPool
    /// The trigram index for substring search, in its own file and thread.
    let searchIndex: SQLiteSearchIndex

    /// Bytes SQLite keeps in all (page caches of the writer and the readers together): past it, it frees
    /// cached pages first. The operating system caches the file anyway; this bounds the process.
    static let softHeapLimit = 24 << 20

    /// Opens (creating it and its directory when missing) and migrates the database at `path`.
    public init(path: String, synchronous: Synchronous = .normal) throws(StoreError) {
        self.path = path
        let directory = RelativePath.parent(of: path)
        if !directory.isEmpty {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        do {
            let connection = try SQLiteConnection(path: path, readOnly: false)
            try connection.execute("""
                PRAGMA journal_mode = WAL; PRAGMA synchronous = \(synchronous.rawValue.uppercased());
                PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -8192;
                PRAGMA temp_store = MEMORY; PRAGMA soft_heap_limit = \(SQLiteStore.softHeapLimit);
                """)
            try SQLiteSchema.migrate(connection)
            var key = ""
            try connection.query("SELECT value FROM settings WHERE key = 'search_index_key'") { key = $0.text(0) }
            let searchIndex = try SQLiteSearchIndex(storePath: path, storeKey: key)
            self.searchIndex = searchIndex
            writer = SQLiteWriter(connection: connection, afterCommit: { searchIndex.noteCommitted() })
        } catch {
            throw StoreError("cannot open the SQLite database \(path): \(error.message)")
        }
        readers = SQLiteReaderPool(path: path, searchIndexPath: SQLiteSearchIndex.path(forStore: path))
    }

    public var queuedWrites: Int { writer.queued }

    public var searchIndexBacklog: Int { Int(searchIndex.backlog) }

    public func close() {
        writer.close()
        searchIndex.close()
        readers.close()
    }

    // MARK: Writes

    public func enqueue(_ write: StoreWrite, completion: @escaping @Sendable (Result<StoreWriteOutcome, StoreError>) -> Void) {
        writer.submit({ connection throws(SQLiteError) in try SQLiteStore.apply(write, connection) },
                      completion: completion)
    }

    /// Performs one write on the writer connection (on the writer thread).
    private static func apply(_ write: StoreWrite, _ connection: SQLiteConnection) throws(SQLiteError)
        -> StoreWriteOutcome {
        switch write {
        case .insert(let message):
            return .inserted(id: try insert(message, into: connection).id)
        case .reply(let id, let agent, let text, let time):
            try connection.query("""
                INSERT INTO replies(message_id, agent_name, body, created_at)
                SELECT id, ?, ?, ? FROM messages WHERE id = ?
                """, [.text(agent), .text(text), .integer(time.microseconds), .integer(id)])
        case .resolve(let id):
            try connection.query("UPDATE messages SET status = 'resolved' WHERE id = ?", [.integer(id)])
        case .assign(let id, let agent, let time):
            try connection.query("UPDATE messages SET assigned_to = ?, assigned_at = ? WHERE id = ?",
                                 [.text(agent), .integer(time.microseconds), .integer(id)])
        case .unassign(let id):
            try connection.query("UPDATE messages SET assigned_to = NULL, assigned_at = NULL WHERE id = ?", [.integer(id)])
        case .audited(let inner, let entry):
            let outcome = try apply(inner, connection)
            if outcome.found { try insertAudit(entry, connection) }
            return outcome
        }
        return .applied(found: connection.changes > 0)
    }

    /// Inserts one message (and its customer when new): the new id, and whether the customer was new. An
    /// imported row whose import key exists already is skipped (id 0).
    private static func insert(_ message: NewMessage, into connection: SQLiteConnection) throws(SQLiteError)
        -> (id: Int64, newCustomer: Bool) {
        try connection.query("INSERT OR IGNORE INTO customers(id) VALUES (?)", [.integer(message.customerID)])
        let newCustomer = connection.changes > 0
        try connection.query("""
            INSERT OR IGNORE INTO messages(customer_id, body, created_at, urgency, rules_version, breakdown, import_key, first_response_due)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(message.customerID), .text(message.body), .integer(message.createdAt.microseconds),
                  .real(message.urgency), .text(message.rulesVersion), .text(message.breakdownJSON),
                  message.importKey.map(SQLiteValue.text) ?? .null, message.responseDue.map { .integer($0.microseconds) } ?? .null])
        guard connection.changes > 0 else { return (0, newCustomer) }
        let id = connection.lastInsertRowID
        if let priority = message.refinementPriority {
            try connection.query("INSERT INTO llm_refinements(message_id, priority, queued_at, next_attempt_at) VALUES (?, ?, ?, ?)",
                                 [.integer(id), .real(priority), .integer(message.createdAt.microseconds),
                                  .integer(message.createdAt.microseconds)])
        }
        return (id, newCustomer)
    }

    public func importMessages(_ batch: [NewMessage]) throws(StoreError) -> ImportBatchResult {
        try writer.perform { connection throws(SQLiteError) in
            var result = ImportBatchResult(messagesAdded: 0, customersAdded: 0)
            for message in batch {
                let (id, newCustomer) = try SQLiteStore.insert(message, into: connection)
                if id != 0 { result.messagesAdded += 1 }
                if newCustomer { result.customersAdded += 1 }
            }
            return result
        }
    }

    public func updateScores(_ updates: [ScoreUpdate]) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            for update in updates {
                try connection.query("UPDATE messages SET urgency = ?, rules_version = ?, breakdown = ?, first_response_due = ? WHERE id = ?",
                                     [.real(update.urgency), .text(update.rulesVersion), .text(update.breakdownJSON),
                                      update.responseDue.map { .integer($0.microseconds) } ?? .null, .integer(update.id)])
            }
        }
    }

    public func setSetting(_ key: String, to value: String) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("INSERT OR REPLACE INTO settings(key, value) VALUES (?, ?)", [.text(key), .text(value)])
        }
    }

    public func recordInstance(_ record: InstanceRecord) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("""
                INSERT INTO instances(id, host, pid, started_at, rules_version, rules_activated_at, last_seen)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET rules_version = excluded.rules_version,
                    rules_activated_at = excluded.rules_activated_at, last_seen = excluded.last_seen
                """, [.text(record.id), .text(record.host), .integer(Int64(record.pid)), .integer(record.startedAt.microseconds),
                      .text(record.rulesVersion), .integer(record.rulesActivatedAt.microseconds), .integer(record.lastSeen.microseconds)])
        }
    }

    public func removeInstance(id: String) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("DELETE FROM instances WHERE id = ?", [.text(id)])
        }
    }

    // MARK: Events

    public func recordEvent(type: String, detail: String) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("INSERT INTO events(type, detail) VALUES (?, ?)", [.text(type), .text(detail)])
        }
    }

    public func openEventFeed() throws(StoreError) -> any EventFeed {
        try SQLiteEventFeed(readers: readers, committed: writer.committed)
    }

    public func pruneEvents(keeping keep: Int) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?", [.integer(Int64(keep))])
        }
    }

    // MARK: Rules deployments

    @discardableResult
    public func recordDeployment(_ deployment: RulesDeployment) throws(StoreError) -> Int64 {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("""
                INSERT INTO rules_deployments(version, files, deployed_at, deployed_by, instance) VALUES (?, ?, ?, ?, ?)
                """, [.text(deployment.version), .text(RulesDeployment.encode(deployment.files)),
                      .integer(deployment.deployedAt.microseconds), .text(deployment.deployedBy), .text(deployment.instance)])
            return connection.lastInsertRowID
        }
    }

    public func latestDeploymentID() throws(StoreError) -> Int64 {
        try readers.read { connection throws(SQLiteError) in try connection.scalar("SELECT coalesce(max(id), 0) FROM rules_deployments") }
    }

    public func latestDeployment() throws(StoreError) -> RulesDeployment? {
        try readers.read { connection throws(SQLiteError) in
            var found: RulesDeployment?
            try connection.query("""
                SELECT id, version, files, deployed_at, deployed_by, instance FROM rules_deployments ORDER BY id DESC LIMIT 1
                """) { row in
                found = RulesDeployment(id: row.integer(0), version: row.text(1), files: RulesDeployment.decode(row.text(2)),
                                        deployedAt: Timestamp(microseconds: row.integer(3)), deployedBy: row.text(4), instance: row.text(5))
            }
            return found
        }
    }

    public func refreshStatistics() throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in try connection.execute("PRAGMA optimize") }
    }

    // MARK: Reads

    public func instances() throws(StoreError) -> [InstanceRecord] {
        try readers.read { connection throws(SQLiteError) in
            var found: [InstanceRecord] = []
            try connection.query("""
                SELECT id, host, pid, started_at, rules_version, rules_activated_at, last_seen FROM instances ORDER BY started_at, id
                """) { row in
                found.append(InstanceRecord(id: row.text(0), host: row.text(1), pid: Int(row.integer(2)),
                                            startedAt: Timestamp(microseconds: row.integer(3)), rulesVersion: row.text(4),
                                            rulesActivatedAt: Timestamp(microseconds: row.integer(5)),
                                            lastSeen: Timestamp(microseconds: row.integer(6))))
            }
            return found
        }
    }

    public func messagesToRescore(status: MessageQuery.StatusFilter, after afterID: Int64, limit: Int) throws(StoreError)
        -> [RescoreCandidate] {
        try readers.read { connection throws(SQLiteError) in
            var found: [RescoreCandidate] = []
            try connection.query(SQLiteStore.rescoreBatchSQL(filtered: status != .all),
                                 [.integer(afterID)] + (status == .all ? [] : [.text(status.rawValue)]) + [.integer(Int64(limit))]) { row in
                found.append(RescoreCandidate(id: row.integer(0), customerID: row.integer(1), body: row.text(2), urgency: row.real(3),
                                              createdAt: Timestamp(microseconds: row.integer(4))))
            }
            return found
        }
    }

    /// The next batch to rescore, by id: parameters after, [status,] limit. `+status` keeps it on the primary key
    /// (a status index, sorted again for every batch, read ~70 ms a batch at 1,000,000 messages).
    static func rescoreBatchSQL(filtered: Bool) -> String {
        "SELECT id, customer_id, body, urgency, created_at FROM messages WHERE id > ?\(filtered ? " AND +status = ?" : "") ORDER BY id LIMIT ?"
    }

    public func setting(_ key: String) throws(StoreError) -> String? {
        try readers.read { connection throws(SQLiteError) in
            var value: String?
            try connection.query("SELECT value FROM settings WHERE key = ?", [.text(key)]) { value = $0.text(0) }
            return value
        }
    }

    private static let columns = "messages.id, customer_id, body, created_at, urgency, status, assigned_to, assigned_at, first_response_due, first_response_at"

    private static func message(from row: SQLiteStatement) -> Message {
        Message(id: row.integer(0), customerID: row.integer(1), body: row.text(2),
                createdAt: Timestamp(microseconds: row.integer(3)), urgency: row.real(4),
                status: MessageStatus(rawValue: row.text(5)) ?? .open, assignedTo: row.optionalText(6),
                assignedAt: row.optionalInteger(7).map(Timestamp.init(microseconds:)), replies: [],
                responseDue: row.optionalInteger(8).map(Timestamp.init(microseconds:)),
                firstResponseAt: row.optionalInteger(9).map(Timestamp.init(microseconds:)))
    }

    public func message(id: Int64) throws(StoreError) -> Message? {
        try readers.read { connection throws(SQLiteError) in
            var found: Message?
            try connection.query("SELECT \(SQLiteStore.columns), rules_version, breakdown FROM messages WHERE messages.id = ?",
                                 [.integer(id)]) { row in
                var message = SQLiteStore.message(from: row)
                message.rulesVersion = row.text(10)
                message.breakdown = try? JSONParser.parse(row.text(11))
                found = message
            }
            guard var message = found else { return nil }
            message.replies = try SQLiteStore.replies(for: [id], connection)[id] ?? []
            return message
        }
    }

    /// Searches with at most this many trigram candidates are answered from the candidates (and counted
    /// exactly); beyond, the sort index is walked with a substring test (and the total is left out).
    static let searchCandidateLimit = 5000

    /// A listing's `since_id` window at most this many ids wide is read by id (and sorted); a wider one walks the
    /// sort index testing ids, which finds the page sooner when most messages qualify.
    static let recentWindow: Int64 = 10_000

    public func messages(_ query: MessageQuery) throws(StoreError) -> MessagePage {
        try readers.read { connection throws(SQLiteError) in
            let statements = try SQLiteStore.listing(query, connection)
            var total: Int?
            if let count = statements.total { total = Int(try connection.scalar(count.sql, count.values)) }
            var messages: [Message] = []
            try connection.query(statements.page.sql, statements.page.values) { messages.append(SQLiteStore.message(from: $0)) }
            let next = KeysetPaging.cut(&messages, query)
            let replies = try SQLiteStore.replies(for: messages.map(\.id), connection)
            for index in messages.indices { messages[index].replies = replies[messages[index].id] ?? [] }
            return MessagePage(messages: messages, total: total, next: next)
        }
    }

    /// The statements of a listing: its total (nil when it is not counted) and its page.
    struct ListingStatements {
        var total: (sql: String, values: [SQLiteValue])?
        var page: (sql: String, values: [SQLiteValue])
    }

    /// Builds a listing's statements, each written so that SQLite's planner (no statistics here) takes the index
    /// that reads least: `SQLiteStoreTests` checks their plans.
    static func listing(_ query: MessageQuery, _ connection: SQLiteConnection) throws(SQLiteError) -> ListingStatements {
        var filters: [String] = []
        var values: [SQLiteValue] = []
        // A narrow `since_id` window is read by id; so is a customer's listing (through `messages_customer`).
        // `+status` keeps the planner off the status indexes there, which it would otherwise walk in sort order,
        // testing every open message (a second at 1,000,000 messages).
        var byID = false
        if let since = query.sinceID {
            byID = since >= (try connection.scalar("SELECT COALESCE(MAX(id), 0) FROM messages")) - recentWindow
        }
        if query.status != .all {
            filters.append(byID || query.customerID != nil ? "+status = ?" : "status = ?")
            values.append(.text(query.status.rawValue))
        }
        if let customer = query.customerID {
            filters.append("customer_id = ?")
            values.append(.integer(customer))
        }
        if let since = query.sinceID {
            filters.append("id > ?")
            values.append(.integer(since))
        }
        if let now = query.overdueAt {
            filters.append(KeysetPaging.overdue(at: "?"))
            values.append(.integer(now.microseconds))
        }
        // Search: a case-insensitive (ASCII, as the seed on SQLite) substring test — LIKE, which folds ASCII
        // letters as it goes, where lower() would copy every body; the trigram index, when it narrows things
        // down, supplies the candidates to test.
        var source = "messages"
        var sourceValues: [SQLiteValue] = []
        var countable = true
        if let search = query.search, !search.isEmpty {
            filters.append("body LIKE ? ESCAPE '\\'")
            values.append(.text(MessageQuery.likePattern(search)))
            let terms = SQLiteSearchIndex.matchExpression(for: search).map(SQLiteValue.text)
            var candidates = Int.max  // a search too short for the index: not narrowed
            if let terms {
                candidates = Int(try connection.scalar(
                    "SELECT count(*) FROM (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? LIMIT ?)",
                    [terms, .integer(Int64(SQLiteStore.searchCandidateLimit + 1))]))
            }
            if let terms, candidates <= SQLiteStore.searchCandidateLimit {
                // The indexed candidates and every message above the index's watermark, read by id.
                source = """
                    (SELECT rowid AS candidate FROM messages_fts WHERE messages_fts MATCH ? UNION ALL \
                    SELECT id FROM messages WHERE id > (SELECT indexed_through FROM search_index_state)) \
                    CROSS JOIN messages ON messages.id = candidate
                    """
                sourceValues = [terms]
            } else {
                countable = false  // counting a very common substring exactly would mean reading most rows
            }
        }
        var total: (sql: String, values: [SQLiteValue])?
        if query.customerID == nil, query.sinceID == nil, query.overdueAt == nil, (query.search ?? "").isEmpty {
            total = query.status == .all ? ("SELECT SUM(value) FROM counters", [])
                                         : ("SELECT value FROM counters WHERE name = ?", [.text(query.status.rawValue)])
        } else if countable {
            total = ("SELECT COUNT(*) FROM \(source)" + SQLiteStore.whereClause(filters), sourceValues + values)
        }

        var pageFilters = filters, pageValues = sourceValues + values
        let paging = KeysetPaging(query, id: "messages.id")
        var cursorValues: [SQLiteValue] = []
        if let after = paging.afterFilter({ value in
            cursorValues.append(SQLiteValue(value))
            return "?"
        }) {
            pageFilters.append(after)
            pageValues += cursorValues
        }
        let rows = SQLiteValue.integer(KeysetPaging.rowsToRead(query))
        var sql = "SELECT \(SQLiteStore.columns) FROM \(source)\(SQLiteStore.whereClause(pageFilters)) ORDER BY \(paging.order) LIMIT ?"
        if query.status == .all, query.customerID == nil, !byID, query.overdueAt == nil, source == "messages" {
            // Every status, in any order: a walk of each status's own listing index, merged. No index orders
            // messages across statuses: each would cost its pages on every insert (README, Performance), and
            // without one a sort over every message was the only way. One compound SELECT ordered by its key
            // columns (k0, k1, …), which SQLite merges straight from the two walks, reading only what the page needs.
            let keys = paging.columns.enumerated().map { "\($0.element) AS k\($0.offset)" }.joined(separator: ", ")
            let branch = "SELECT \(SQLiteStore.columns), \(keys) FROM messages WHERE status = ?\(pageFilters.map { " AND " + $0 }.joined())"
            let direction = paging.ascending ? " ASC" : " DESC"
            sql = "\(branch) UNION ALL \(branch) ORDER BY \(paging.columns.indices.map { "k\($0)" + direction }.joined(separator: ", ")) LIMIT ?"
            pageValues = [.text(MessageQuery.StatusFilter.open.rawValue)] + pageValues
                + [.text(MessageQuery.StatusFilter.resolved.rawValue)] + pageValues
        }
        pageValues.append(rows)
        return ListingStatements(total: total, page: (sql, pageValues))
    }

    private static func whereClause(_ filters: [String]) -> String {
        filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
    }

    /// The replies of `ids`, oldest first, by message.
    private static func replies(for ids: [Int64], _ connection: SQLiteConnection) throws(SQLiteError) -> [Int64: [Reply]] {
        guard !ids.isEmpty else { return [:] }
        var result: [Int64: [Reply]] = [:]
        var start = 0
        while start < ids.count {
            let chunk = Array(ids[start..<min(ids.count, start + 500)])
            start += chunk.count
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
            try connection.query("""
                SELECT message_id, agent_name, body, created_at FROM replies
                WHERE message_id IN (\(placeholders)) ORDER BY message_id, id
                """, chunk.map(SQLiteValue.integer)) { row in
                result[row.integer(0), default: []].append(
                    Reply(agentName: row.text(1), text: row.text(2), createdAt: Timestamp(microseconds: row.integer(3))))
            }
        }
        return result
    }

    public func customer(id: Int64) throws(StoreError) -> CustomerProfile? {
        try readers.read { connection throws(SQLiteError) in
            var profile: CustomerProfile?
            try connection.query("""
                SELECT COUNT(*), SUM(status = 'open'), SUM(status = 'resolved'), AVG(urgency), MIN(created_at), MAX(created_at),
                       SUM(status = 'open' AND first_response_at IS NULL AND first_response_due < ?)
                FROM messages WHERE customer_id = ?
                """, [.integer(Timestamp.now().microseconds), .integer(id)]) { row in
                guard row.integer(0) > 0 else { return }
                profile = CustomerProfile(id: id, totalMessages: Int(row.integer(0)), openMessages: Int(row.integer(1)),
                                          resolvedMessages: Int(row.integer(2)), averageUrgency: row.real(3),
                                          firstContact: Timestamp(microseconds: row.integer(4)),
                                          lastContact: Timestamp(microseconds: row.integer(5)), overdueMessages: Int(row.integer(6)))
            }
            return profile
        }
    }
}

extension SQLiteValue {
    /// A cursor key value, bound as SQLite stores it.
    init(_ key: KeysetPaging.KeyValue) {
        switch key {
        case .real(let value): self = .real(value)
        case .integer(let value): self = .integer(value)
        }
    }
}
