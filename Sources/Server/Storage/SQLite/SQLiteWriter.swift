import Foundation

/// The one connection that writes, on its own thread, committing in batches: every write waiting when a
/// transaction starts goes into it, each in a savepoint of its own (one failing write does not undo the others).
/// A caller returns only after the transaction holding its write has committed.
final class SQLiteWriter: @unchecked Sendable {
    /// Writes per transaction at most.
    static let maximumBatch = 512

    private let connection: SQLiteConnection
    private var loop: BatchingWriter<Operation>!
    /// Signalled after every commit, for the event feed.
    let committed = CommitSignal()
    private let afterCommit: () -> Void

    /// One write: `run` reports whether it succeeded (a failure is rolled back to its savepoint); `finish` is
    /// called after the transaction ends, with the commit error if there was one.
    private final class Operation: @unchecked Sendable {
        let run: (SQLiteConnection) -> Bool
        let finish: (SQLiteError?) -> Void
        init(run: @escaping (SQLiteConnection) -> Bool, finish: @escaping (SQLiteError?) -> Void) {
            self.run = run
            self.finish = finish
        }
    }

    /// `afterCommit` runs on the writer thread after each transaction that committed.
    init(connection: SQLiteConnection, afterCommit: @escaping () -> Void = {}) {
        self.connection = connection
        self.afterCommit = afterCommit
        loop = BatchingWriter(name: "sqlite-writer", maximumBatch: SQLiteWriter.maximumBatch) { [unowned self] batch in
            commit(batch)
        }
    }

    /// Queues `body` for the next transaction and returns at once; `completion` runs on the writer thread once
    /// that transaction has committed (or failed).
    func submit<T>(_ body: @escaping (SQLiteConnection) throws(SQLiteError) -> T,
                   completion: @escaping @Sendable (Result<T, StoreError>) -> Void) {
        nonisolated(unsafe) var result: Result<T, SQLiteError>?
        let operation = Operation(run: { connection in
            do throws(SQLiteError) {
                result = .success(try body(connection))
                return true
            } catch {
                result = .failure(error)
                return false
            }
        }, finish: { commitError in
            if let commitError { return completion(.failure(StoreError("commit failed: \(commitError.message)"))) }
            switch result {
            case .success(let value)?: completion(.success(value))
            case .failure(let error)?: completion(.failure(StoreError(error.message)))
            case nil: completion(.failure(StoreError("the write did not run")))
            }
        })
        if !loop.submit(operation) { completion(.failure(StoreError("the store is shutting down"))) }
    }

    /// Runs `body` on the writer connection inside the next transaction and waits for the commit.
    func perform<T>(_ body: @escaping (SQLiteConnection) throws(SQLiteError) -> T) throws(StoreError) -> T {
        try waitForCompletion { submit(body, completion: $0) }
    }

    /// Writes waiting for the next transaction.
    var queued: Int { loop.queued }

    /// Commits what is pending, then stops the thread. Later writes fail.
    func close() { loop.close() }

    /// One transaction for the batch, each write in a savepoint of its own.
    private func commit(_ batch: [Operation]) {
        do {
            try connection.query("BEGIN IMMEDIATE")
            for operation in batch {
                if batch.count == 1 {
                    if !operation.run(connection) {
                        try connection.query("ROLLBACK")
                        try connection.query("BEGIN IMMEDIATE")
                    }
                    continue
                }
                try connection.query("SAVEPOINT write")
                if !operation.run(connection) { try connection.query("ROLLBACK TO write") }
                try connection.query("RELEASE write")
            }
            try connection.query("COMMIT")
            committed.signal()
            afterCommit()
            for operation in batch { operation.finish(nil) }
        } catch {
            if connection.isInTransaction { try? connection.query("ROLLBACK") }
            for operation in batch { operation.finish(error) }
        }
    }
}
