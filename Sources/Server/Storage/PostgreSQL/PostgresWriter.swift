import Foundation

/// The queued writes of one server (`Store.enqueue`), on a thread of their own with a connection of their own,
/// committed in batches (the shared `BatchingWriter` loop): every write waiting when a transaction starts goes
/// into it, so a burst costs one commit, not one per message. What a batch does to the database is the store's
/// (`apply`). A caller hears back only after the transaction holding its write has committed.
///
/// If a batch fails for any reason but a lost connection, its writes are retried one transaction each, so
/// one bad write cannot sink the others. If the connection is lost, the batch fails (503 for its callers)
/// and the next batch connects again.
final class PostgresWriter: @unchecked Sendable {
    static let maximumBatch = 512

    typealias Completion = @Sendable (Result<StoreWriteOutcome, StoreError>) -> Void
    /// Performs writes inside the current transaction; the outcome of each, in order.
    typealias Apply = ([StoreWrite], PostgresConnection) throws(PostgresError) -> [StoreWriteOutcome]

    private let url: String
    private let apply: Apply
    private var connection: PostgresConnection?
    private var loop: BatchingWriter<(write: StoreWrite, completion: Completion)>!

    init(url: String, apply: @escaping Apply) {
        self.url = url
        self.apply = apply
        loop = BatchingWriter(name: "postgres-writer", maximumBatch: PostgresWriter.maximumBatch) { [unowned self] batch in
            commit(batch)
        }
    }

    func submit(_ write: StoreWrite, completion: @escaping Completion) {
        if !loop.submit((write, completion)) { completion(.failure(StoreError("the store is shutting down"))) }
    }

    /// Writes waiting for the next transaction.
    var queued: Int { loop.queued }

    /// Commits what is pending, then stops the thread.
    func close() {
        loop.close()
        connection = nil
    }

    private func commit(_ batch: [(write: StoreWrite, completion: Completion)]) {
        let apply = self.apply
        var outcomes: [StoreWriteOutcome] = []
        do {
            outcomes = try withConnection { connection throws(PostgresError) in
                try connection.transaction { () throws(PostgresError) in try apply(batch.map(\.write), connection) }
            }
        } catch let error where error.connectionLost || batch.count == 1 {
            for (_, completion) in batch { completion(.failure(StoreError("PostgreSQL: \(error.message)"))) }
            return
        } catch {
            // One write spoiled the batch: give each its own transaction.
            for (write, completion) in batch {
                do {
                    let outcome = try withConnection { connection throws(PostgresError) in
                        try connection.transaction { () throws(PostgresError) in try apply([write], connection) }
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
}
