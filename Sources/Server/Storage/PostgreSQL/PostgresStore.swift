import Foundation
import Support

/// The PostgreSQL store, for deployments that outgrow one machine: several servers on one database behave as
/// one service. Same behaviour as the SQLite store (the same contract tests run against both).
///
/// Queued writes go through this server's `PostgresWriter` (batched commits); everything else uses a pool of
/// connections. When PostgreSQL goes away, calls fail quickly with a `StoreError` (503 for clients) and the
/// store reconnects by itself once it is back.
public final class PostgresStore: Store {
    let writer: PostgresWriter
    let pool: PostgresPool

    /// Connects to `url`, migrates the schema, and prepares `poolSize` connections at most for reads.
    public init(url: String, poolSize: Int = 16) throws(StoreError) {
        do {
            let connection = try PostgresConnection(url: url)
            try PostgresSchema.migrate(connection)
        } catch {
            throw StoreError("cannot open the PostgreSQL database: \(error.message)")
        }
        writer = PostgresWriter(url: url, apply: PostgresStore.apply)
        pool = PostgresPool(url: url, size: poolSize)
    }

    public var queuedWrites: Int { writer.queued }

    /// Its trigram index is written with each message.
    public var searchIndexBacklog: Int { 0 }

    public func close() {
        writer.close()
        pool.close()
    }

    // MARK: Writes

    public func enqueue(_ write: StoreWrite, completion: @escaping @Sendable (Result<StoreWriteOutcome, StoreError>) -> Void) {
        writer.submit(write, completion: completion)
    }

    public func importMessages(_ batch: [NewMessage]) throws(StoreError) -> ImportBatchResult {
        guard !batch.isEmpty else { return ImportBatchResult(messagesAdded: 0, customersAdded: 0) }
        return try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) in
                let (ids, customers) = try PostgresStore.insert(batch, connection)
                return ImportBatchResult(messagesAdded: ids.compactMap { $0 }.count, customersAdded: customers)
            }
        }
    }

    public func updateScores(_ updates: [ScoreUpdate]) throws(StoreError) {
        guard !updates.isEmpty else { return }
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                UPDATE messages SET urgency = u.urgency, rules_version = u.version, breakdown = u.breakdown, first_response_due = u.due::bigint
                FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::text[], $5::text[]) AS u(id, urgency, version, breakdown, due)
                WHERE messages.id = u.id
                """, [.integers(updates.map(\.id)), .reals(updates.map(\.urgency)), .texts(updates.map(\.rulesVersion)),
                      .texts(updates.map(\.breakdownJSON)), .texts(updates.map { $0.responseDue.map { String($0.microseconds) } })])
        }
    }

    public func setSetting(_ key: String, to value: String) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("INSERT INTO settings(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                 [.text(key), .text(value)])
        }
    }

    public func recordInstance(_ record: InstanceRecord) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                INSERT INTO instances(id, host, pid, started_at, rules_version, rules_activated_at, last_seen)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (id) DO UPDATE SET rules_version = excluded.rules_version,
                    rules_activated_at = excluded.rules_activated_at, last_seen = excluded.last_seen
                """, [.text(record.id), .text(record.host), .integer(Int64(record.pid)), .integer(record.startedAt.microseconds),
                      .text(record.rulesVersion), .integer(record.rulesActivatedAt.microseconds), .integer(record.lastSeen.microseconds)])
        }
    }

    public func removeInstance(id: String) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("DELETE FROM instances WHERE id = $1", [.text(id)])
        }
    }

    // MARK: Events

    public func recordEvent(type: String, detail: String) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("INSERT INTO events(type, detail) VALUES ($1, $2)", [.text(type), .text(detail)])
        }
    }

    public func openEventFeed() throws(StoreError) -> any EventFeed { try PostgresEventFeed(pool: pool) }

    public func pruneEvents(keeping keep: Int) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - $1", [.integer(Int64(keep))])
        }
    }

    // MARK: Rules deployments

    @discardableResult
    public func recordDeployment(_ deployment: RulesDeployment) throws(StoreError) -> Int64 {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                INSERT INTO rules_deployments(version, files, deployed_at, deployed_by, instance) VALUES ($1, $2, $3, $4, $5) RETURNING id
                """, [.text(deployment.version), .text(RulesDeployment.encode(deployment.files)),
                      .integer(deployment.deployedAt.microseconds), .text(deployment.deployedBy), .text(deployment.instance)]).integer(0, 0)
        }
    }

    public func latestDeploymentID() throws(StoreError) -> Int64 {
        try pool.withConnection { connection throws(PostgresError) in try connection.scalar("SELECT coalesce(max(id), 0) FROM rules_deployments") }
    }

    public func latestDeployment() throws(StoreError) -> RulesDeployment? {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                SELECT id, version, files, deployed_at, deployed_by, instance FROM rules_deployments ORDER BY id DESC LIMIT 1
                """)
            guard rows.count > 0 else { return nil }
            return RulesDeployment(id: rows.integer(0, 0), version: rows.text(0, 1), files: RulesDeployment.decode(rows.text(0, 2)),
                                   deployedAt: Timestamp(microseconds: rows.integer(0, 3)), deployedBy: rows.text(0, 4),
                                   instance: rows.text(0, 5))
        }
    }

    public func refreshStatistics() throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in try connection.execute("ANALYZE messages") }
    }

    // MARK: Reads

    public func instances() throws(StoreError) -> [InstanceRecord] {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                SELECT id, host, pid, started_at, rules_version, rules_activated_at, last_seen FROM instances ORDER BY started_at, id
                """)
            return (0..<rows.count).map { row in
                InstanceRecord(id: rows.text(row, 0), host: rows.text(row, 1), pid: Int(rows.integer(row, 2)),
                               startedAt: Timestamp(microseconds: rows.integer(row, 3)), rulesVersion: rows.text(row, 4),
                               rulesActivatedAt: Timestamp(microseconds: rows.integer(row, 5)),
                               lastSeen: Timestamp(microseconds: rows.integer(row, 6)))
            }
        }
    }

    public func setting(_ key: String) throws(StoreError) -> String? {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT value FROM settings WHERE key = $1", [.text(key)])
            return rows.count > 0 ? rows.text(0, 0) : nil
        }
    }

    public func messagesToRescore(status: MessageQuery.StatusFilter, after afterID: Int64, limit: Int) throws(StoreError)
        -> [RescoreCandidate] {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = status == .all
                ? try connection.query("SELECT id, customer_id, body, urgency, created_at FROM messages WHERE id > $1 ORDER BY id LIMIT $2",
                                       [.integer(afterID), .integer(Int64(limit))])
                : try connection.query("""
                    SELECT id, customer_id, body, urgency, created_at FROM messages WHERE id > $1 AND status = $2 ORDER BY id LIMIT $3
                    """, [.integer(afterID), .text(status.rawValue), .integer(Int64(limit))])
            return (0..<rows.count).map { row in
                RescoreCandidate(id: rows.integer(row, 0), customerID: rows.integer(row, 1), body: rows.text(row, 2),
                                 urgency: rows.real(row, 3), createdAt: Timestamp(microseconds: rows.integer(row, 4)))
            }
        }
    }

    private static let columns = "id, customer_id, body, created_at, urgency, status, assigned_to, assigned_at, first_response_due, first_response_at"

    private static func message(_ rows: PostgresRows, _ row: Int) -> Message {
        Message(id: rows.integer(row, 0), customerID: rows.integer(row, 1), body: rows.text(row, 2),
                createdAt: Timestamp(microseconds: rows.integer(row, 3)), urgency: rows.real(row, 4),
                status: MessageStatus(rawValue: rows.text(row, 5)) ?? .open, assignedTo: rows.optionalText(row, 6),
                assignedAt: rows.optionalInteger(row, 7).map(Timestamp.init(microseconds:)), replies: [],
                responseDue: rows.optionalInteger(row, 8).map(Timestamp.init(microseconds:)),
                firstResponseAt: rows.optionalInteger(row, 9).map(Timestamp.init(microseconds:)))
    }

    public func message(id: Int64) throws(StoreError) -> Message? {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT \(PostgresStore.columns), rules_version, breakdown FROM messages WHERE id = $1",
                                            [.integer(id)])
            guard rows.count > 0 else { return nil }
            var message = PostgresStore.message(rows, 0)
            message.rulesVersion = rows.text(0, 10)
            message.breakdown = try? JSONParser.parse(Array(rows.text(0, 11).utf8))
            message.replies = try PostgresStore.replies(for: [id], connection)[id] ?? []
            return message
        }
    }

    /// Searches matching more messages than this are paged without an exact total. Lower than SQLite's 5000:
    /// here every trigram candidate is re-checked on the table, which costs more per row than SQLite's index.
    static let countLimit = 1000
    /// Searches the planner expects to match more than this many messages are not counted at all.
    static let estimateAbove = 10 * countLimit

    public func messages(_ query: MessageQuery) throws(StoreError) -> MessagePage {
        try pool.withConnection { connection throws(PostgresError) in
            var filters: [String] = []
            var values: [PostgresValue] = []
            func parameter(_ value: PostgresValue) -> String {
                values.append(value)
                return "$\(values.count)"
            }
            if query.status != .all { filters.append("status = \(parameter(.text(query.status.rawValue)))") }
            if let customer = query.customerID { filters.append("customer_id = \(parameter(.integer(customer)))") }
            if let since = query.sinceID { filters.append("id > \(parameter(.integer(since)))") }
            if let now = query.overdueAt {
                filters.append(KeysetPaging.overdue(at: parameter(.integer(now.microseconds))))
            }
            let searching = !(query.search ?? "").isEmpty
            if let search = query.search, searching {
                // A case-insensitive (ASCII, as the seed on SQLite) substring test, answered by the trigram index.
                filters.append("ascii_lower(body) LIKE \(parameter(.text(MessageQuery.likePattern(search))))")
            }
            let filterValues = values
            var total: Int?, estimatedTotal: Int?
            if query.customerID == nil, query.sinceID == nil, query.overdueAt == nil, !searching {
                total = Int(query.status == .all
                    ? try connection.scalar("SELECT coalesce(sum(value), 0) FROM counters")
                    : try connection.scalar("SELECT coalesce(sum(value), 0) FROM counters WHERE name = $1", [.text(query.status.rawValue)]))
            } else {
                // A search the planner expects to match far more than can be counted cheaply (counting re-checks every
                // trigram candidate on the table) is not counted: its estimate is sent, as one. The planner's LIKE
                // estimates can be off several times over, hence the margin; below it the count decides.
                let planned = searching ? try PostgresStore.plannedRows(filters, filterValues, connection) : nil
                if let planned, planned > PostgresStore.estimateAbove {
                    estimatedTotal = planned
                } else {
                    let counted = Int(try connection.scalar(
                        "SELECT count(*) FROM (SELECT 1 FROM messages\(PostgresStore.whereClause(filters)) LIMIT \(PostgresStore.countLimit + 1)) AS matches",
                        filterValues))
                    if counted <= PostgresStore.countLimit {
                        total = counted
                    } else if let planned {
                        estimatedTotal = max(planned, counted)  // more than the limit, that much is known
                    }
                }
            }

            var pageFilters = filters
            let paging = KeysetPaging(query, id: "id")
            if let after = paging.afterFilter({ parameter(PostgresValue($0)) }) { pageFilters.append(after) }
            let limit = parameter(.integer(KeysetPaging.rowsToRead(query)))
            var sql = "SELECT \(PostgresStore.columns) FROM messages\(PostgresStore.whereClause(pageFilters)) ORDER BY \(paging.order) LIMIT \(limit)"
            if query.status == .all, query.customerID == nil, query.sinceID == nil, query.overdueAt == nil {
                // Every status, in any order: a walk of each status's own listing index, the two pages merged (as on
                // SQLite): no index orders messages across statuses, each would cost its pages on every insert.
                let branches = [MessageQuery.StatusFilter.open, .resolved].map { status in
                    "(SELECT \(PostgresStore.columns) FROM messages WHERE status = \(parameter(.text(status.rawValue)))"
                        + "\(pageFilters.map { " AND " + $0 }.joined()) ORDER BY \(paging.order) LIMIT \(limit))"
                }
                sql = "SELECT * FROM (\(branches.joined(separator: " UNION ALL "))) AS merged ORDER BY \(paging.order) LIMIT \(limit)"
            }
            let rows = try connection.query(sql, values)
            var messages = (0..<rows.count).map { PostgresStore.message(rows, $0) }
            let next = KeysetPaging.cut(&messages, query)
            let replies = try PostgresStore.replies(for: messages.map(\.id), connection)
            for index in messages.indices { messages[index].replies = replies[messages[index].id] ?? [] }
            return MessagePage(messages: messages, total: total, estimatedTotal: estimatedTotal, next: next)
        }
    }

    /// How many rows the planner expects `filters` to match (from the table's statistics; nothing is read), or nil
    /// when the plan does not say.
    private static func plannedRows(_ filters: [String], _ values: [PostgresValue],
                                    _ connection: PostgresConnection) throws(PostgresError) -> Int? {
        let plan = try connection.queryPlannedForValues(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages" + whereClause(filters), values)
        guard plan.count > 0, case .array(let plans)? = try? JSONParser.parse(Array(plan.text(0, 0).utf8)),
              case .object(let top)? = plans.first, case .object(let root)? = top["Plan"],
              let rows = root["Plan Rows"]?.doubleValue, rows.isFinite, rows >= 0 else { return nil }
        return Int(rows.rounded())
    }

    private static func whereClause(_ filters: [String]) -> String {
        filters.isEmpty ? "" : " WHERE " + filters.joined(separator: " AND ")
    }

    /// The replies of `ids`, oldest first, by message.
    private static func replies(for ids: [Int64], _ connection: PostgresConnection) throws(PostgresError) -> [Int64: [Reply]] {
        guard !ids.isEmpty else { return [:] }
        let rows = try connection.query("""
            SELECT message_id, agent_name, body, created_at FROM replies WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, id
            """, [.integers(ids)])
        var result: [Int64: [Reply]] = [:]
        for row in 0..<rows.count {
            result[rows.integer(row, 0), default: []].append(
                Reply(agentName: rows.text(row, 1), text: rows.text(row, 2), createdAt: Timestamp(microseconds: rows.integer(row, 3))))
        }
        return result
    }

    public func customer(id: Int64) throws(StoreError) -> CustomerProfile? {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                SELECT count(*), count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'resolved'),
                       avg(urgency), min(created_at), max(created_at),
                       count(*) FILTER (WHERE status = 'open' AND first_response_at IS NULL AND first_response_due < $2)
                FROM messages WHERE customer_id = $1
                """, [.integer(id), .integer(Timestamp.now().microseconds)])
            guard rows.count > 0, rows.integer(0, 0) > 0 else { return nil }
            return CustomerProfile(id: id, totalMessages: Int(rows.integer(0, 0)), openMessages: Int(rows.integer(0, 1)),
                                   resolvedMessages: Int(rows.integer(0, 2)), averageUrgency: rows.real(0, 3),
                                   firstContact: Timestamp(microseconds: rows.integer(0, 4)),
                                   lastContact: Timestamp(microseconds: rows.integer(0, 5)), overdueMessages: Int(rows.integer(0, 6)))
        }
    }

    // MARK: What a batch of queued writes does

    /// Performs `writes` inside the current transaction: new messages first, in one statement, then the rest in
    /// order. The outcome of each write, in order.
    static func apply(_ writes: [StoreWrite], _ connection: PostgresConnection) throws(PostgresError) -> [StoreWriteOutcome] {
        var outcomes = [StoreWriteOutcome](repeating: .applied(found: false), count: writes.count)
        var inserts: [(index: Int, message: NewMessage)] = []
        for (index, write) in writes.enumerated() { if case .insert(let message) = write.withoutAudit.write { inserts.append((index, message)) } }
        if !inserts.isEmpty {
            let ids = try insert(inserts.map(\.message), connection).ids
            for (position, insert) in inserts.enumerated() {
                outcomes[insert.index] = .inserted(id: ids[position] ?? 0)
                // An audited insert (none is today) is recorded when it stored a message, as on SQLite.
                if let audit = writes[insert.index].withoutAudit.audit, ids[position] != nil { try insertAudit(audit, connection) }
            }
        }
        for (index, audited) in writes.enumerated() {
            let (write, audit) = audited.withoutAudit
            let rows: PostgresRows
            switch write {
            case .insert, .audited:
                continue
            case .reply(let id, let agent, let text, let time):
                // Lock the message first, as its updates do, so that two changes to one message commit in the order
                // their events were numbered (webhooks are delivered in that order).
                try connection.query("SELECT 1 FROM messages WHERE id = $1 FOR NO KEY UPDATE", [.integer(id)])
                rows = try connection.query("""
                    INSERT INTO replies(message_id, agent_name, body, created_at) SELECT id, $2, $3, $4 FROM messages WHERE id = $1
                    """, [.integer(id), .text(agent), .text(text), .integer(time.microseconds)])
            case .resolve(let id):
                rows = try connection.query("UPDATE messages SET status = 'resolved' WHERE id = $1", [.integer(id)])
            case .assign(let id, let agent, let time):
                rows = try connection.query("UPDATE messages SET assigned_to = $2, assigned_at = $3 WHERE id = $1",
                                            [.integer(id), .text(agent), .integer(time.microseconds)])
            case .unassign(let id):
                rows = try connection.query("UPDATE messages SET assigned_to = NULL, assigned_at = NULL WHERE id = $1", [.integer(id)])
            }
            outcomes[index] = .applied(found: rows.affected > 0)
            if let audit, rows.affected > 0 { try insertAudit(audit, connection) }
        }
        return outcomes
    }

    /// Inserts `messages` (creating new customers) with one statement each for customers, ids and messages.
    /// The id of each message (nil for an imported row already present), and how many customers were new.
    static func insert(_ messages: [NewMessage], _ connection: PostgresConnection) throws(PostgresError)
        -> (ids: [Int64?], newCustomers: Int) {
        let customers = try connection.query(
            "INSERT INTO customers(id) SELECT DISTINCT unnest($1::bigint[]) ON CONFLICT DO NOTHING",
            [.integers(messages.map(\.customerID))]).affected
        let reserved = try connection.query("SELECT nextval('messages_id_seq') FROM generate_series(1, $1)",
                                            [.integer(Int64(messages.count))])
        let ids = (0..<reserved.count).map { reserved.integer($0, 0) }
        let inserted = try connection.query("""
            INSERT INTO messages(id, customer_id, body, created_at, urgency, rules_version, breakdown, import_key, first_response_due)
            SELECT id, customer, body, created, urgency, version, breakdown, key, due::bigint
            FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::float8[], $6::text[], $7::text[], $8::text[], $9::text[])
                AS m(id, customer, body, created, urgency, version, breakdown, key, due)
            ON CONFLICT (import_key) WHERE import_key IS NOT NULL DO NOTHING
            RETURNING id
            """, [.integers(ids), .integers(messages.map(\.customerID)), .texts(messages.map(\.body)),
                  .integers(messages.map(\.createdAt.microseconds)), .reals(messages.map(\.urgency)),
                  .texts(messages.map(\.rulesVersion)), .texts(messages.map(\.breakdownJSON)), .texts(messages.map(\.importKey)),
                  .texts(messages.map { $0.responseDue.map { String($0.microseconds) } })])
        let stored = Set((0..<inserted.count).map { inserted.integer($0, 0) })
        let queued = zip(ids, messages).filter { stored.contains($0.0) && $0.1.refinementPriority != nil }
        if !queued.isEmpty {
            try connection.query("""
                INSERT INTO llm_refinements(message_id, priority, queued_at, next_attempt_at)
                SELECT id, priority, queued, queued FROM unnest($1::bigint[], $2::float8[], $3::bigint[]) AS q(id, priority, queued)
                """, [.integers(queued.map(\.0)), .reals(queued.map { $0.1.refinementPriority ?? 0 }),
                      .integers(queued.map(\.1.createdAt.microseconds))])
        }
        return (ids.map { stored.contains($0) ? $0 : nil }, customers)
    }
}

extension PostgresValue {
    /// A cursor key value, bound as PostgreSQL stores it.
    init(_ key: KeysetPaging.KeyValue) {
        switch key {
        case .real(let value): self = .real(value)
        case .integer(let value): self = .integer(value)
        }
    }
}
