import CSQLite

/// A value bound to or read from SQLite.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// An SQLite failure: the result code and SQLite's message.
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "SQLite error \(code): \(message)" }
}

/// One SQLite connection: the only owner of a `sqlite3*`. Not thread-safe: used by one thread at a time (the
/// writer thread, or a reader checked out of the pool). Prepared statements are cached per connection.
final class SQLiteConnection {
    /// The SQLite library's version, as it reports it (`3.40.1`).
    static var libraryVersion: String { String(cString: sqlite3_libversion()) }

    private let raw: OpaquePointer
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (and for writers creates) the database at `path`.
    init(path: String, readOnly: Bool) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let handle { sqlite3_close_v2(handle) }
            throw SQLiteError(code: status, message: "\(message) (\(path))")
        }
        raw = handle
        sqlite3_extended_result_codes(raw, 1)
        _ = uiq_sqlite_plans_ignore_bound_values(raw)  // cached statements stay prepared (searches bind a LIKE pattern)
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(raw)
    }

    /// Runs SQL text (any number of statements) without results.
    func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(raw, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(message)
            throw SQLiteError(code: status, message: text)
        }
    }

    /// The cached prepared statement for `sql`, reset and ready to bind.
    func statement(_ sql: String) throws(SQLiteError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var handle: OpaquePointer?
        let status = sqlite3_prepare_v3(raw, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, nil)
        guard status == SQLITE_OK, let handle else { throw SQLiteError(code: status, message: errorMessage) }
        let statement = SQLiteStatement(handle, connection: self)
        if statements.count < 256 { statements[sql] = statement }
        return statement
    }

    /// Runs one statement with `values` bound and calls `row` for each result row.
    func query(_ sql: String, _ values: [SQLiteValue] = [], row: (SQLiteStatement) throws(SQLiteError) -> Void = { _ in })
        throws(SQLiteError) {
        let statement = try statement(sql)
        defer { statement.reset() }
        try statement.bind(values)
        while try statement.step() { try row(statement) }
    }

    /// The first column of the first row, as an integer (0 when there is none).
    func scalar(_ sql: String, _ values: [SQLiteValue] = []) throws(SQLiteError) -> Int64 {
        var result: Int64 = 0
        try query(sql, values) { result = $0.integer(0) }
        return result
    }

    var changes: Int { Int(sqlite3_changes(raw)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(raw) }
    var errorMessage: String { String(cString: sqlite3_errmsg(raw)) }
    var isInTransaction: Bool { sqlite3_get_autocommit(raw) == 0 }
}

/// A prepared statement of one connection.
final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let connection: SQLiteConnection

    fileprivate init(_ raw: OpaquePointer, connection: SQLiteConnection) {
        self.raw = raw
        self.connection = connection
    }

    deinit { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func bind(_ values: [SQLiteValue]) throws(SQLiteError) {
        for (index, value) in values.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(raw, position)
            case .integer(let integer): status = sqlite3_bind_int64(raw, position, integer)
            case .real(let real): status = sqlite3_bind_double(raw, position, real)
            case .text(let text):
                var text = text
                status = text.withUTF8 { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { chars in
                        guard let base = chars.baseAddress, !chars.isEmpty else {
                            return sqlite3_bind_text(raw, position, "", 0, uiq_sqlite_transient())
                        }
                        return sqlite3_bind_text(raw, position, base, Int32(chars.count), uiq_sqlite_transient())
                    }
                }
            }
            guard status == SQLITE_OK else { throw SQLiteError(code: status, message: connection.errorMessage) }
        }
    }

    /// Advances to the next row: true when there is one.
    func step() throws(SQLiteError) -> Bool {
        let status = sqlite3_step(raw)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: status, message: connection.errorMessage)
        }
    }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    func real(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
    func optionalInteger(_ column: Int32) -> Int64? { isNull(column) ? nil : integer(column) }
}
