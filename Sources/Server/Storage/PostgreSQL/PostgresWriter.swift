import Foundation

/// The queued writes of one server (`Store.enqueue`), on a thread of their own with a connection of their own,
/// committed in batches: every write waiting when a transaction starts goes into it (the new messages of a
/// batch in one multi-row INSERT), so a burst costs one commit, not one per message. A caller hears back only
/// after the transaction holding its write has committed.
///
/// If a batch fails for any reason but a lost connection, its writes are retried one transaction each, so
/// one bad write cannot sink the others. If the connection is lost, the batch fails (503 for its callers)
/// and the next batch connects again.
final class PostgresWriter: @unchecked Sendable {
    static let maximumBatch = 512

    typealias Completion = @Sendable (Result<StoreWriteOutcome, StoreError>) -> Void

    private let url: String
    private var connection: PostgresConnection?
    private let condition = NSCondition()
    private var pending: [(write: StoreWrite, completion: Completion)] = []
    private var stopping = false
    private var stopped = false

    init(url: String) {
        self.url = url
        let thread = Thread { [unowned self] in loop() }
        thread.name = "postgres-writer"
        thread.start()
    }

    func submit(_ write: StoreWrite, completion: @escaping Completion) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            return completion(.failure(StoreError("the store is shutting down")))
        }
        pending.append((write, completion))
        condition.signal()
        condition.unlock()
    }

    /// Commits what is pending, then stops the thread.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
        connection = nil
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty && stopping {
                stopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(PostgresWriter.maximumBatch))
            pending.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
    }

    private func commit(_ batch: [(write: StoreWrite, completion: Completion)]) {
        var outcomes: [StoreWriteOutcome] = []
        do {
            outcomes = try withConnection { connection throws(PostgresError) in
                try connection.transaction { () throws(PostgresError) in try PostgresWriter.apply(batch.map(\.write), connection) }
            }
        } catch let error where error.connectionLost || batch.count == 1 {
            for (_, completion) in batch { completion(.failure(StoreError("PostgreSQL: \(error.message)"))) }
            return
        } catch {
            // One write spoiled the batch: give each its own transaction.
            for (write, completion) in batch {
                do {
                    let outcome = try withConnection { connection throws(PostgresError) in
                        try connection.transaction { () throws(PostgresError) in try PostgresWriter.apply([write], connection) }
                    }
                    completion(.success(outcome[0]))
                } catch {
                    completion(.failure(StoreError("PostgreSQL: \(error.message)")))
                }
            }
            return
        }
        for (index, item) in batch.enumerated() { item.completion(.success(outcomes[index])) }
    }

    /// Runs `body` on the writer's connection, connecting first when there is none. A connection that died
    /// while idle (PostgreSQL restarted) fails at BEGIN, before anything was written: then the batch is tried
    /// once more on a new connection.
    private func withConnection<T>(_ body: (PostgresConnection) throws(PostgresError) -> T) throws(PostgresError) -> T {
        for attempt in 1...2 {
            let current: PostgresConnection
            if let connection { current = connection } else {
                current = try PostgresConnection(url: url)
                connection = current
            }
            do {
                return try body(current)
            } catch {
                guard error.connectionLost || !current.isHealthy else { throw error }
                connection = nil
                guard attempt == 1, error.beforeAnyWork else { throw error }
            }
        }
        throw PostgresError(message: "unreachable", sqlState: nil, connectionLost: true)
    }

    /// Performs `writes` inside the current transaction: new messages first, in one statement, then the rest in
    /// order. The outcome of each write, in order.
    static func apply(_ writes: [StoreWrite], _ connection: PostgresConnection) throws(PostgresError) -> [StoreWriteOutcome] {
        var outcomes = [StoreWriteOutcome](repeating: .applied(found: false), count: writes.count)
        var inserts: [(index: Int, message: NewMessage)] = []
        for (index, write) in writes.enumerated() { if case .insert(let message) = write { inserts.append((index, message)) } }
        if !inserts.isEmpty {
            let ids = try insert(inserts.map(\.message), connection).ids
            for (position, insert) in inserts.enumerated() { outcomes[insert.index] = .inserted(id: ids[position] ?? 0) }
        }
        for (index, write) in writes.enumerated() {
            let rows: PostgresRows
            switch write {
            case .insert:
                continue
            case .reply(let id, let agent, let text, let time):
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
            INSERT INTO messages(id, customer_id, body, created_at, urgency, rules_version, breakdown, import_key)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::float8[], $6::text[], $7::text[], $8::text[])
            ON CONFLICT (import_key) WHERE import_key IS NOT NULL DO NOTHING
            RETURNING id
            """, [.integers(ids), .integers(messages.map(\.customerID)), .texts(messages.map(\.body)),
                  .integers(messages.map(\.createdAt.microseconds)), .reals(messages.map(\.urgency)),
                  .texts(messages.map(\.rulesVersion)), .texts(messages.map(\.breakdownJSON)), .texts(messages.map(\.importKey))])
        let stored = Set((0..<inserted.count).map { inserted.integer($0, 0) })
        return (ids.map { stored.contains($0) ? $0 : nil }, customers)
    }
}
