import Synchronization

/// Read-only connections for concurrent readers (WAL lets them read while the writer writes), each with the search
/// index attached as `search`. A reader takes a connection of its own for the duration of one query; idle
/// connections are kept for reuse.
final class SQLiteReaderPool: Sendable {
    private let path: String
    private let searchIndexPath: String
    private let idle = Mutex<[ConnectionBox]>([])
    private let maximumIdle: Int

    /// A connection moving between threads, used by one at a time.
    private struct ConnectionBox: @unchecked Sendable { let connection: SQLiteConnection }

    init(path: String, searchIndexPath: String, maximumIdle: Int = 16) {
        self.path = path
        self.searchIndexPath = searchIndexPath
        self.maximumIdle = maximumIdle
    }

    func read<T>(_ body: (SQLiteConnection) throws(SQLiteError) -> T) throws(StoreError) -> T {
        let connection: SQLiteConnection
        if let box = idle.withLock({ $0.popLast() }) {
            connection = box.connection
        } else {
            do {
                connection = try SQLiteConnection(path: path, readOnly: true)
                try connection.execute("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY")
                do {
                    try connection.query("ATTACH DATABASE ? AS search", [.text(searchIndexPath)])
                } catch {
                    // The index file cannot be read (removed under the running server): an empty index of the
                    // connection's own instead (searches name its tables unqualified, and a connection's temporary
                    // tables come first), so that searches scan every message (complete, slower) and reads go on.
                    try connection.execute(SQLiteSearchIndex.schema.replacingOccurrences(of: "%@", with: "temp"))
                    try connection.execute("INSERT INTO temp.search_index_state VALUES ('', 0, 0)")
                }
            } catch {
                throw StoreError("cannot open a read connection: \(error.message)")
            }
        }
        do {
            let result = try body(connection)
            checkIn(connection)
            return result
        } catch {
            checkIn(connection)
            throw StoreError(error.message)
        }
    }

    private func checkIn(_ connection: SQLiteConnection) {
        let box = ConnectionBox(connection: connection)
        idle.withLock { if $0.count < maximumIdle { $0.append(box) } }
    }

    func close() { idle.withLock { $0.removeAll() } }
}
