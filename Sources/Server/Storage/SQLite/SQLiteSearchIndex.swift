import CSQLite
import Foundation
import Support

/// The trigram search index over message bodies: a database file of its own beside the store's (`<path>.search`),
/// kept up with the messages by a thread and a connection of its own, so that indexing never holds the store's
/// write lock (an index step of a thousand messages takes 10–25 ms: inside the writer it was the writes' slowest
/// wait, and about a third of the writer's time under load).
///
/// The index follows the store's commits: a step indexes the next `batchSize` messages once that many are
/// waiting, or whatever is waiting once nothing has been committed for `quietPeriod`. Searches cover everything
/// at once: the index up to `indexed_through`, a scan beyond it. The file holds nothing that is not in the store.
/// It is emptied and built again in the background when it was built for another store (the store's
/// `search_index_key`), when its watermark is not a message of the store as it was indexed (a backup restored,
/// a power cut the store lost commits in), when it is from another layout, or when it cannot be opened at all.
/// Servers sharing the store index one after another, each from the watermark the last one left.
final class SQLiteSearchIndex: @unchecked Sendable {
    /// Messages indexed per step (about 10 ms of work).
    static let batchSize: Int64 = 1024
    /// How long the store must have been quiet before a partial batch is indexed.
    static let quietPeriod: TimeInterval = 0.02
    /// How long to wait after a step failed.
    static let retryPause: TimeInterval = 1
    /// The layout of the index file (`PRAGMA user_version`); another is rebuilt. (2: positions kept, searched by
    /// phrase; 3: which messages hold each trigram, nothing more.)
    static let layout: Int64 = 3
    /// Trigrams of a search looked up at most: past a few dozen the candidates no longer narrow.
    static let maximumTerms = 64

    /// Where the index of the store at `storePath` lives.
    static func path(forStore storePath: String) -> String { storePath + ".search" }

    /// The schema of the index file (`%@`: the schema name; also what a reader makes in its temporary tables when it
    /// cannot read the file).
    static let schema = """
        CREATE VIRTUAL TABLE %@.messages_fts USING fts5(body, content='', tokenize='trigram', detail=none);
        CREATE TABLE %@.search_index_state (store_key TEXT NOT NULL, indexed_through INTEGER NOT NULL,
                                            indexed_created_at INTEGER NOT NULL);
        """

    /// The index query for the messages that may contain `search`, or nil when it is too short to look up (under
    /// three characters): each of its three-character windows as a term of its own, all required. The index keeps
    /// which messages hold a trigram, not where (`detail=none`: a third of the file and of the work a step does
    /// with positions), so the candidates hold every trigram somewhere, not necessarily in a row: the listing's
    /// LIKE keeps the messages that contain the text.
    /// Quotes are doubled scalar by scalar: a quote followed by a combining mark is one `Character`, which a
    /// `String` search for `"` would not find. A NUL (which would end the expression early) gives nil.
    static func matchExpression(for search: String) -> String? {
        let scalars = Array(search.unicodeScalars)
        guard scalars.count >= 3, !scalars.contains("\u{0}") else { return nil }
        var terms: [String] = []
        var seen = Set<[Unicode.Scalar]>()
        for start in 0...(scalars.count - 3) where terms.count < maximumTerms {
            let trigram = Array(scalars[start..<start + 3])
            guard seen.insert(trigram).inserted else { continue }
            var term = String.UnicodeScalarView()
            term.append("\"")
            for scalar in trigram {
                term.append(scalar)
                if scalar == "\"" { term.append(scalar) }
            }
            term.append("\"")
            terms.append(String(term))
        }
        return terms.joined(separator: " AND ")
    }

    private let condition = NSCondition()
    private var highestID: Int64 = 0
    private var indexedThrough: Int64 = 0
    private var storeChanged = true
    private var lastCommit = Date.distantPast
    private var retryAt = Date.distantPast
    private var idle = false
    private var stopping = false
    private var stopped = false
    /// Called on the index's thread each time it has read the store's newest id, before it takes the lock again
    /// (tests hold the thread there to close the index at that moment).
    private let afterReadingTheStore: (() -> Void)?

    /// Opens (or makes) the index of the store at `storePath`, whose key is `storeKey`, and starts its thread. A
    /// file that cannot be opened as an index is removed and made again.
    init(storePath: String, storeKey: String, afterReadingTheStore: (() -> Void)? = nil) throws(SQLiteError) {
        self.afterReadingTheStore = afterReadingTheStore
        let path = SQLiteSearchIndex.path(forStore: storePath)
        let connection: SQLiteConnection
        do {
            connection = try SQLiteSearchIndex.open(path, storePath: storePath, storeKey: storeKey)
        } catch where [SQLITE_CORRUPT, SQLITE_NOTADB].contains(error.code & 0xff) {
            // Not an index (damaged, or another file): it holds nothing the store does not, so it is made again.
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
            connection = try SQLiteSearchIndex.open(path, storePath: storePath, storeKey: storeKey)
        }
        indexedThrough = try connection.scalar("SELECT indexed_through FROM main.search_index_state")
        // The thread owns the connection from now on (it alone uses it), and closes it before it reports stopped;
        // it keeps the index alive until `close`.
        nonisolated(unsafe) var owned: SQLiteConnection? = connection
        let thread = Thread { [self] in
            nameCurrentThread("sqlite-search")
            if let connection = owned { loop(connection) }
            owned = nil
            condition.lock()
            stopped = true
            condition.broadcast()
            condition.unlock()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// The index file's connection, its layout and its state checked against the store (see the type's comment).
    private static func open(_ path: String, storePath: String, storeKey: String) throws(SQLiteError) -> SQLiteConnection {
        let connection = try SQLiteConnection(path: path, readOnly: false)
        try connection.execute("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
            PRAGMA cache_size = -2048; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = 16777216;
            """)
        // The layout, under a lock of the index file alone (the store is not attached yet). An index of another
        // layout is dropped.
        try transaction(connection, "BEGIN IMMEDIATE") { () throws(SQLiteError) in
            guard try connection.scalar("PRAGMA main.user_version") != layout else { return }
            try connection.execute("DROP TABLE IF EXISTS main.messages_fts; DROP TABLE IF EXISTS main.search_index_state;")
            try connection.execute(schema.replacingOccurrences(of: "%@", with: "main"))
            try connection.execute("PRAGMA main.user_version = \(layout)")
        }
        // A file mostly free (an index of another layout just dropped, or one emptied at an earlier start to be built
        // again) is compacted, or its pages would stay with it, empty. Best effort: a file busy for longer than the
        // busy timeout (another server at work on it) is compacted at a later start.
        if try connection.scalar("PRAGMA main.freelist_count") * 2 > (try connection.scalar("PRAGMA main.page_count")) {
            try? connection.execute("VACUUM")
        }
        try connection.query("ATTACH DATABASE ? AS store", [.text(storePath)])
        // The state, locked by writing to the index file first (BEGIN IMMEDIATE would lock the store too).
        try transaction(connection, "BEGIN") { () throws(SQLiteError) in
            try connection.query("UPDATE main.search_index_state SET indexed_through = indexed_through")
            var state: (key: String, through: Int64, createdAt: Int64)?
            try connection.query("SELECT store_key, indexed_through, indexed_created_at FROM main.search_index_state") {
                state = ($0.text(0), $0.integer(1), $0.integer(2))
            }
            var storeCreatedAt: Int64?
            if let state, state.through > 0 {
                try connection.query("SELECT created_at FROM store.messages WHERE id = ?", [.integer(state.through)]) {
                    storeCreatedAt = $0.integer(0)
                }
            }
            let current = state.map { $0.key == storeKey && ($0.through == 0 || storeCreatedAt == $0.createdAt) } ?? false
            guard !current else { return }
            try connection.query("INSERT INTO main.messages_fts(messages_fts) VALUES ('delete-all')")
            try connection.query("DELETE FROM main.search_index_state")
            try connection.query("INSERT INTO main.search_index_state VALUES (?, 0, 0)", [.text(storeKey)])
        }
        return connection
    }

    /// Runs `body` between `begin` and COMMIT, rolling back when it throws.
    private static func transaction(_ connection: SQLiteConnection, _ begin: String,
                                    _ body: () throws(SQLiteError) -> Void) throws(SQLiteError) {
        try connection.query(begin)
        do {
            try body()
            try connection.query("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.query("ROLLBACK") }
            throw error
        }
    }

    /// The store committed a transaction (which may have added messages).
    func noteCommitted() {
        condition.lock()
        storeChanged = true
        lastCommit = Date()
        if idle { condition.signal() }  // otherwise the thread looks at its next timed wake
        condition.unlock()
    }

    /// Messages committed and not indexed yet, as of the thread's last look at the store.
    var backlog: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return max(0, highestID - indexedThrough)
    }

    /// Stops the thread after its current step (and closes its connection).
    func close() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    /// Whether `close` has been called.
    var isStopping: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopping
    }

    /// Indexes as the store commits, until `close`.
    private func loop(_ connection: SQLiteConnection) {
        condition.lock()
        while !stopping {
            if storeChanged {
                storeChanged = false
                condition.unlock()
                let highest = try? connection.scalar("SELECT COALESCE(MAX(id), 0) FROM store.messages")
                afterReadingTheStore?()
                condition.lock()
                if let highest { highestID = max(highestID, highest) } else { storeChanged = true }
                // `close` may have come while the lock was not held: its wake-up is gone, so waiting for work
                // now would wait for ever (and `close` with it).
                if stopping { break }
            }
            let backlog = highestID - indexedThrough
            if backlog <= 0 && !storeChanged {
                idle = true
                condition.wait()
                idle = false
                continue
            }
            let due = backlog >= SQLiteSearchIndex.batchSize ? retryAt
                : max(retryAt, lastCommit.addingTimeInterval(SQLiteSearchIndex.quietPeriod))
            if due > Date() {
                condition.wait(until: due)
                continue
            }
            condition.unlock()
            let step: (from: Int64, through: Int64)?
            do { step = try self.step(connection) } catch { step = nil }
            condition.lock()
            if let step {
                retryAt = .distantPast
                indexedThrough = max(indexedThrough, step.through)
                // Nothing beyond the watermark (another server indexed it first): nothing is waiting.
                if step.through == step.from { highestID = min(highestID, indexedThrough) }
            } else {
                // Kept waiting (and looked at again) until a later step succeeds.
                retryAt = Date().addingTimeInterval(SQLiteSearchIndex.retryPause)
                storeChanged = true
            }
        }
        condition.unlock()
    }

    /// Indexes the next batch in a transaction of the index file only: the watermark before and after.
    private func step(_ connection: SQLiteConnection) throws(SQLiteError) -> (from: Int64, through: Int64) {
        var from: Int64 = 0, through: Int64 = 0
        // Deferred, and writing first: the index file is locked from the start (servers sharing the store index
        // one after another, each from the watermark the last one left), the store only read.
        try SQLiteSearchIndex.transaction(connection, "BEGIN") { () throws(SQLiteError) in
            try connection.query("UPDATE main.search_index_state SET indexed_through = indexed_through")
            from = try connection.scalar("SELECT indexed_through FROM main.search_index_state")
            // The next batch of ids that exist (a rolled-back insert leaves a gap).
            through = try connection.scalar(
                "SELECT COALESCE(MAX(id), ?) FROM (SELECT id FROM store.messages WHERE id > ? ORDER BY id LIMIT ?)",
                [.integer(from), .integer(from), .integer(SQLiteSearchIndex.batchSize)])
            guard through > from else { return }
            try connection.query("INSERT INTO main.messages_fts(rowid, body) SELECT id, body FROM store.messages WHERE id > ? AND id <= ?",
                                 [.integer(from), .integer(through)])
            try connection.query("""
                UPDATE main.search_index_state SET indexed_through = ?,
                    indexed_created_at = (SELECT created_at FROM store.messages WHERE id = ?)
                """, [.integer(through), .integer(through)])
        }
        return (from, through)
    }
}
