import Foundation

/// The one connection that writes, on its own thread, committing in batches: every write waiting when a
/// transaction starts goes into it, each in a savepoint of its own (one failing write does not undo the others).
/// A caller returns only after the transaction holding its write has committed.
final class SQLiteWriter: @unchecked Sendable {
    /// Writes per transaction at most.
    static let maximumBatch = 512

    private let connection: SQLiteConnection
    private let condition = NSCondition()
    private var pending: [Operation] = []
    private var stopping = false
    private var stopped = false
    private var thread: Thread?

    /// One write: `run` reports whether it succeeded (a failure is rolled back to its savepoint).
    private final class Operation: @unchecked Sendable {
        let run: (SQLiteConnection) -> Bool
        let done = DispatchSemaphore(value: 0)
        var commitError: SQLiteError?
        init(_ run: @escaping (SQLiteConnection) -> Bool) { self.run = run }
    }

    init(connection: SQLiteConnection) {
        self.connection = connection
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "sqlite-writer"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Runs `body` on the writer connection inside the next transaction and waits for the commit.
    func perform<T>(_ body: @escaping (SQLiteConnection) throws(SQLiteError) -> T) throws(StoreError) -> T {
        nonisolated(unsafe) var result: Result<T, SQLiteError>?
        let operation = Operation { connection in
            do throws(SQLiteError) {
                result = .success(try body(connection))
                return true
            } catch {
                result = .failure(error)
                return false
            }
        }
        condition.lock()
        guard !stopping else {
            condition.unlock()
            throw StoreError("the store is shutting down")
        }
        pending.append(operation)
        condition.signal()
        condition.unlock()
        operation.done.wait()
        if let error = operation.commitError { throw StoreError("commit failed: \(error.message)") }
        switch result {
        case .success(let value)?: return value
        case .failure(let error)?: throw StoreError(error.message)
        case nil: throw StoreError("the write did not run")
        }
    }

    /// Commits what is pending, then stops the thread. Later writes fail.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
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
            let batch = Array(pending.prefix(SQLiteWriter.maximumBatch))
            pending.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
    }

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
        } catch {
            if connection.isInTransaction { try? connection.query("ROLLBACK") }
            for operation in batch { operation.commitError = error }
        }
        for operation in batch { operation.done.signal() }
    }
}
