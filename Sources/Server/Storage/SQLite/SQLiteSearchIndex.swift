import Foundation
import Support

/// The trigram search index over message bodies: a database file of its own beside the store's (`<path>.search`),
/// kept up with the messages by a thread and a connection of its own, so that indexing never holds the store's
/// write lock (an index step of a thousand messages takes 10–25 ms: inside the writer it was the writes' slowest
/// wait, and about a third of the writer's time under load).
///
/// The index follows the messages in batches: a step indexes the next `batchSize` messages once that many are
/// waiting, or whatever is waiting once no message has been added for `quietPeriod`. Searches cover everything
/// at once: the index up to `indexed_through`, a scan beyond it. The file holds nothing that is not in the store:
/// when it is missing, from an older layout, or was built for another store (the store's `search_index_key`),
/// it is emptied and built again in the background.
final class SQLiteSearchIndex: @unchecked Sendable {
    /// Messages indexed per step (about 10 ms of work).
    static let batchSize: Int64 = 1024
    /// How long the messages must have stopped coming before a partial batch is indexed.
    static let quietPeriod: TimeInterval = 0.02
    /// The layout of the index file (`PRAGMA user_version`); another is rebuilt.
    static let layout: Int64 = 1

    /// Where the index of the store at `storePath` lives.
    static func path(forStore storePath: String) -> String { storePath + ".search" }

    private let connection: SQLiteConnection
    private let condition = NSCondition()
    private var highestID: Int64
    private var indexedThrough: Int64
    private var lastInsert = Date.distantPast
    private var retryAt = Date.distantPast
    private var stopping = false
    private var stopped = false

    /// Opens (or makes) the index of the store at `storePath`, whose key is `storeKey`, and starts its thread.
    init(storePath: String, storeKey: String) throws(SQLiteError) {
        connection = try SQLiteConnection(path: SQLiteSearchIndex.path(forStore: storePath), readOnly: false)
        try connection.execute("""
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;
            PRAGMA cache_size = -2048; PRAGMA temp_store = MEMORY;
            """)
        try connection.query("ATTACH DATABASE ? AS store", [.text(storePath)])
        if try connection.scalar("PRAGMA main.user_version") != SQLiteSearchIndex.layout {
            try connection.execute("""
                DROP TABLE IF EXISTS main.messages_fts; DROP TABLE IF EXISTS main.search_index_state;
                CREATE VIRTUAL TABLE main.messages_fts USING fts5(body, content='', tokenize='trigram');
                CREATE TABLE main.search_index_state (store_key TEXT NOT NULL, indexed_through INTEGER NOT NULL);
                PRAGMA main.user_version = \(SQLiteSearchIndex.layout);
                """)
        }
        var indexedKey: String?
        try connection.query("SELECT store_key FROM main.search_index_state") { indexedKey = $0.text(0) }
        if indexedKey != storeKey {
            try connection.execute("BEGIN")
            try connection.query("INSERT INTO main.messages_fts(messages_fts) VALUES ('delete-all')")
            try connection.query("DELETE FROM main.search_index_state")
            try connection.query("INSERT INTO main.search_index_state VALUES (?, 0)", [.text(storeKey)])
            try connection.execute("COMMIT")
        }
        indexedThrough = try connection.scalar("SELECT indexed_through FROM main.search_index_state")
        highestID = try connection.scalar("SELECT COALESCE(MAX(id), 0) FROM store.messages")
        let thread = Thread { [unowned self] in
            nameCurrentThread("sqlite-search")
            loop()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Records that messages up to `id` exist (or are about to, once the writer commits).
    func noteInserted(through id: Int64) {
        condition.lock()
        if id > highestID { highestID = id }
        lastInsert = Date()
        condition.signal()
        condition.unlock()
    }

    /// Messages not indexed yet.
    var backlog: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return max(0, highestID - indexedThrough)
    }

    /// Stops the thread after its current step.
    func close() {
        condition.lock()
        stopping = true
        condition.signal()
        while !stopped { condition.wait() }
        condition.unlock()
    }

    private func loop() {
        condition.lock()
        while !stopping {
            let now = Date(), backlog = highestID - indexedThrough
            let due = backlog >= SQLiteSearchIndex.batchSize ? retryAt
                : backlog > 0 ? max(retryAt, lastInsert.addingTimeInterval(SQLiteSearchIndex.quietPeriod)) : nil
            guard let due else {
                condition.wait()
                continue
            }
            if due > now {
                condition.wait(until: due)
                continue
            }
            condition.unlock()
            let progressed = (try? step()) ?? false
            condition.lock()
            // Nothing new to read (the writer has not committed what it noted yet) or a failure: try again later;
            // after a second without inserts, what was noted and never came (a rolled-back insert) is forgotten.
            if !progressed {
                if Date().timeIntervalSince(lastInsert) > 1 { highestID = indexedThrough }
                retryAt = Date().addingTimeInterval(SQLiteSearchIndex.quietPeriod)
            }
        }
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Indexes the next batch in a transaction of the index file only; whether there was anything to index.
    private func step() throws(SQLiteError) -> Bool {
        condition.lock()
        let from = indexedThrough
        condition.unlock()
        // The next batch of ids that exist (a rolled-back insert can have reported an id that never was).
        let through = try connection.scalar(
            "SELECT COALESCE(MAX(id), ?) FROM (SELECT id FROM store.messages WHERE id > ? ORDER BY id LIMIT ?)",
            [.integer(from), .integer(from), .integer(SQLiteSearchIndex.batchSize)])
        guard through > from else { return false }
        try connection.query("BEGIN")  // deferred: the store is only read, so only the index file is locked
        do {
            try connection.query("INSERT INTO main.messages_fts(rowid, body) SELECT id, body FROM store.messages WHERE id > ? AND id <= ?",
                                 [.integer(from), .integer(through)])
            try connection.query("UPDATE main.search_index_state SET indexed_through = ?", [.integer(through)])
            try connection.query("COMMIT")
        } catch {
            if connection.isInTransaction { try? connection.query("ROLLBACK") }
            throw error
        }
        condition.lock()
        indexedThrough = through
        if through > highestID { highestID = through }
        condition.unlock()
        return true
    }
}
