/// Keeps the trigram search index up with the messages, in batches, on the writer thread.
///
/// Indexing one message at a time inside every write costs about four times as much as indexing a thousand at
/// once (each commit makes a new index segment that must be merged later), so inserts do not wait for the
/// index: after each transaction the writer indexes the next batch when enough has piled up, or whenever it has
/// nothing else to do. Searches cover everything at once: the index up to `indexed_through`, a scan beyond it.
final class SQLiteSearchIndexer {
    /// Messages indexed per step (about 10 ms of work).
    static let batchSize = 1024

    private var indexedThrough: Int64
    private var highestID: Int64

    init(connection: SQLiteConnection) throws(SQLiteError) {
        indexedThrough = try connection.scalar("SELECT indexed_through FROM search_index_state")
        highestID = try connection.scalar("SELECT COALESCE(MAX(id), 0) FROM messages")
    }

    /// Messages not indexed yet.
    var backlog: Int64 { max(0, highestID - indexedThrough) }

    /// Records that messages up to `id` exist.
    func noteInserted(through id: Int64) {
        if id > highestID { highestID = id }
    }

    /// Whether a step is due: a full batch is waiting, or anything is waiting and the writer is idle.
    func isDue(writerIdle: Bool) -> Bool {
        backlog >= Int64(SQLiteSearchIndexer.batchSize) || (writerIdle && backlog > 0)
    }

    /// Indexes the next batch in its own transaction.
    func step(_ connection: SQLiteConnection) throws(SQLiteError) {
        let from = indexedThrough
        // The next batch of ids that exist (a rolled-back insert can have reported an id that never was).
        let through = try connection.scalar(
            "SELECT COALESCE(MAX(id), ?) FROM (SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?)",
            [.integer(from), .integer(from), .integer(Int64(SQLiteSearchIndexer.batchSize))])
        guard through > from else {
            highestID = from  // nothing beyond: the backlog was an overestimate
            return
        }
        try connection.query("BEGIN IMMEDIATE")
        do {
            try connection.query("INSERT INTO messages_fts(rowid, body) SELECT id, body FROM messages WHERE id > ? AND id <= ?",
                                 [.integer(from), .integer(through)])
            try connection.query("UPDATE search_index_state SET indexed_through = ?", [.integer(through)])
            try connection.query("COMMIT")
            indexedThrough = through
        } catch {
            if connection.isInTransaction { try? connection.query("ROLLBACK") }
            throw error
        }
    }
}
