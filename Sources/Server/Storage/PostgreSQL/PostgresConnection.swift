import CLibPQ
import Foundation

/// A failed PostgreSQL operation: the server's message and SQLSTATE, and whether the connection is gone
/// (then the pool throws it away and the next use connects again).
struct PostgresError: Error, Sendable, CustomStringConvertible {
    var message: String
    var sqlState: String?
    var connectionLost: Bool
    /// The failure came before anything was sent for this unit of work (connecting, or BEGIN): safe to retry.
    var beforeAnyWork = false

    var description: String { message }
}

/// A parameter of a query, sent in text format.
enum PostgresValue: Sendable {
    case null
    case text(String)
    case integer(Int64)
    case real(Double)
    /// A `bigint[]`.
    case integers([Int64])
    /// A `text[]` (nil elements are NULL).
    case texts([String?])
    /// A `float8[]`.
    case reals([Double])

    /// The text form PostgreSQL parses, or nil for NULL.
    var text: String? {
        switch self {
        case .null: nil
        case .text(let value): value
        case .integer(let value): String(value)
        case .real(let value): PostgresValue.format(value)
        case .integers(let values): "{" + values.map(String.init).joined(separator: ",") + "}"
        case .reals(let values): "{" + values.map(PostgresValue.format).joined(separator: ",") + "}"
        case .texts(let values): PostgresValue.arrayLiteral(values)
        }
    }

    /// `{"a","b\"c",NULL}`: every element quoted, with `\` and `"` escaped, as PostgreSQL's array input reads
    /// it. Byte by byte: a batch of breakdowns is full of quotes, and Foundation's replacing is slow at them.
    private static func arrayLiteral(_ values: [String?]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.reduce(2) { total, value in total + (value?.utf8.count ?? 4) + 8 })
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Shortest text that reads back as the same double (Swift's description does exactly that).
    private static func format(_ value: Double) -> String { value.isFinite ? "\(value)" : "NaN" }
}

/// The rows of a query, read as text. Owns the libpq result.
final class PostgresRows {
    private let result: OpaquePointer
    let count: Int
    /// Rows a command changed (INSERT, UPDATE, DELETE).
    let affected: Int

    fileprivate init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        affected = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) != 0 }

    func text(_ row: Int, _ column: Int) -> String {
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let value = PQgetvalue(result, Int32(row), Int32(column)) else { return "" }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    func optionalText(_ row: Int, _ column: Int) -> String? { isNull(row, column) ? nil : text(row, column) }
    func integer(_ row: Int, _ column: Int) -> Int64 { Int64(text(row, column)) ?? 0 }
    func optionalInteger(_ row: Int, _ column: Int) -> Int64? { isNull(row, column) ? nil : integer(row, column) }
    func real(_ row: Int, _ column: Int) -> Double { Double(text(row, column)) ?? 0 }
}

/// One libpq connection: the only place the PostgreSQL store touches libpq. Statements are prepared once per
/// connection (by their text) and executed with parameters, never by splicing values into SQL. Used by one
/// thread at a time (pools hand it from one to the next), hence `@unchecked Sendable`.
final class PostgresConnection: @unchecked Sendable {
    /// The libpq library's version (`15.18`).
    static var libraryVersion: String {
        let number = PQlibVersion()
        return "\(number / 10000).\(number % 100)"
    }

    private let connection: OpaquePointer
    private var prepared: [String: String] = [:]  // SQL → statement name

    /// Connects to `url` (`postgresql://user:password@host:port/database?…`). Gives up after
    /// `connectTimeout` seconds, so an unreachable server is an error quickly, not a hang.
    init(url: String, connectTimeout: Int = 3, statementTimeoutMilliseconds: Int = 10_000) throws(PostgresError) {
        let separator = url.contains("?") ? "&" : "?"
        let full = url + separator + "connect_timeout=\(connectTimeout)&application_name=urgencyiq"
            + "&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3"
        guard let connection = PQconnectdb(full) else {
            throw PostgresError(message: "out of memory connecting to PostgreSQL", sqlState: nil, connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = PostgresConnection.errorText(connection)
            PQfinish(connection)
            throw PostgresError(message: "cannot connect to PostgreSQL: \(message)", sqlState: nil, connectionLost: true,
                                beforeAnyWork: true)
        }
        self.connection = connection
        try execute("SET statement_timeout = \(statementTimeoutMilliseconds); SET TIME ZONE 'UTC'; "
                    + "SET client_encoding = 'UTF8'; SET extra_float_digits = 1")
    }

    deinit { PQfinish(connection) }

    /// Whether the connection is still usable.
    var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// Runs SQL without parameters (one or more statements): migrations, BEGIN, COMMIT.
    func execute(_ sql: String) throws(PostgresError) {
        guard let result = PQexec(connection, sql) else { throw failure(nil) }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else { throw failure(result) }
    }

    /// Runs one statement with parameters; its rows.
    @discardableResult
    func query(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresRows {
        let name = try statement(for: sql, parameterCount: parameters.count)
        let result = PostgresConnection.withValues(parameters) { values in
            PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try rows(of: result)
    }

    /// Runs one statement with parameters without preparing it: planned for these values every time (what
    /// `EXPLAIN` of a search needs; a prepared statement may switch to a generic plan that ignores them).
    func queryPlannedForValues(_ sql: String, _ parameters: [PostgresValue]) throws(PostgresError) -> PostgresRows {
        let result = PostgresConnection.withValues(parameters) { values in
            PQexecParams(connection, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        return try rows(of: result)
    }

    /// The parameters as libpq takes them (C strings, NULL for SQL NULL; nil when there are none), for `body`.
    private static func withValues<R>(_ parameters: [PostgresValue],
                                      _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let copies: [UnsafePointer<CChar>?] = parameters.map { value in value.text.flatMap { UnsafePointer(strdup($0)) } }
        defer { for copy in copies { free(UnsafeMutablePointer(mutating: copy)) } }
        return copies.withUnsafeBufferPointer { buffer in body(parameters.isEmpty ? nil : buffer.baseAddress) }
    }

    /// The rows of a finished statement, or its error.
    private func rows(of result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else { throw failure(nil) }
        let status = PQresultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            defer { PQclear(result) }
            throw failure(result)
        }
        return PostgresRows(result)
    }

    /// The first column of the first row, as an integer (0 when there is none).
    func scalar(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> Int64 {
        let rows = try query(sql, parameters)
        return rows.count > 0 ? rows.integer(0, 0) : 0
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws.
    func transaction<T>(_ body: () throws(PostgresError) -> T) throws(PostgresError) -> T {
        do {
            try execute("BEGIN")
        } catch {
            var failure = error
            failure.beforeAnyWork = true
            throw failure
        }
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            if isHealthy { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// The prepared statement for `sql`, preparing it on first use.
    private func statement(for sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let name = prepared[sql] { return name }
        let name = "s\(prepared.count + 1)"
        guard let result = PQprepare(connection, name, sql, Int32(parameterCount), nil) else { throw failure(nil) }
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_COMMAND_OK else { throw failure(result) }
        prepared[sql] = name
        return name
    }

    private func failure(_ result: OpaquePointer?) -> PostgresError {
        let lost = PQstatus(connection) != CONNECTION_OK
        var message = PostgresConnection.errorText(connection)
        var state: String?
        if let result {
            if let text = PQresultErrorMessage(result), text.pointee != 0 { message = String(cString: text) }
            if let code = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) { state = String(cString: code) }
        }
        message = message.trimmingCharacters(in: .whitespacesAndNewlines)
        return PostgresError(message: message.isEmpty ? "PostgreSQL failed" : message, sqlState: state,
                             connectionLost: lost || state?.hasPrefix("08") == true || state == "57P01")
    }

    private static func errorText(_ connection: OpaquePointer) -> String {
        PQerrorMessage(connection).map { String(cString: $0) }?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown error"
    }
}
