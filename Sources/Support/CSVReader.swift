import Foundation

/// Streams records out of a CSV file (RFC 4180, as spreadsheets and Python's `csv` write it): quoted fields
/// with commas, quotes (`""`) and newlines; LF or CRLF line ends; an optional UTF-8 byte order mark.
///
/// Reads in 64 KiB chunks, so memory stays constant however long the file is. Fields must be UTF-8;
/// malformed input is an error naming the line.
public final class CSVReader {
    /// A record and the line it starts on (1-based, counting physical lines).
    public struct Record: Sendable {
        public var fields: [String]
        public var line: Int
    }

    public struct Error: Swift.Error, CustomStringConvertible, Sendable, Equatable {
        public var source: String
        public var line: Int
        public var message: String
        /// `file:line: message`, or `file: message` for the file as a whole (it cannot be opened).
        public var description: String { line > 0 ? "\(source):\(line): \(message)" : "\(source): \(message)" }

        /// A record with more fields than the header names.
        static func tooManyFields(_ count: Int, limit: Int, source: String, line: Int) -> Error {
            Error(source: source, line: line, message: "\(count) fields, but the header has \(limit)")
        }
    }

    /// Name used in error messages (the file path).
    public let source: String
    /// Whether the file ends its lines with CRLF (known after the first line).
    public private(set) var usesCRLF = false

    private let handle: FileHandle?
    /// Bytes read from the source so far (for progress against the file size).
    public private(set) var bytesRead = 0
    private var buffer: [UInt8] = []
    private var position = 0
    private var exhausted = false
    private var line = 1
    private var atStart = true
    private let chunkSize = 64 * 1024

    /// Opens `path` for streaming.
    public init(path: String) throws(CSVReader.Error) {
        source = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            // Why, as the system says it: "No such file or directory", "Permission denied", …
            throw Error(source: path, line: 0, message: "cannot open the file: \(String(cString: strerror(errno)))")
        }
        var info = stat()
        if fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            close(descriptor)
            throw Error(source: path, line: 0, message: "is a directory, not a CSV file")
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Reads CSV from bytes in memory.
    public init(bytes: [UInt8], source: String) {
        self.source = source
        handle = nil
        buffer = bytes
        exhausted = true
    }

    deinit { try? handle?.close() }

    private func refill() -> Bool {
        guard !exhausted, let handle else { return false }
        let data = handle.readData(ofLength: chunkSize)
        if data.isEmpty {
            exhausted = true
            return false
        }
        bytesRead += data.count
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        buffer.append(contentsOf: data)
        return true
    }

    /// One field of the record just parsed: its bytes in the read buffer (inside the quotes when it was quoted)
    /// and whether they hold doubled quotes (`""`, one quote each).
    struct FieldSpan {
        var start: Int
        var end: Int
        var isQuoted: Bool
        var hasDoubledQuotes: Bool
    }

    /// Where the record just parsed lies in the read buffer: from `start` to `contentEnd` (its line end excluded);
    /// its fields are in `spans` (none for a blank line) until the next record is parsed.
    struct ParsedRecord {
        var start: Int
        var contentEnd: Int
        var line: Int
    }

    /// The fields of the last record `nextParsed` returned, reused from record to record.
    private var spans: [FieldSpan] = []

    /// The next record, or nil at the end of the file. A blank line yields a record without fields.
    public func next() throws(CSVReader.Error) -> Record? {
        guard let parsed = try nextParsed() else { return nil }
        let source = self.source
        let fields = try buffer.withUnsafeBufferPointer { b throws(CSVReader.Error) -> [String] in
            var fields: [String] = []
            fields.reserveCapacity(spans.count)
            for span in spans {
                let bytes = UnsafeBufferPointer(rebasing: b[span.start..<span.end])
                let field = span.hasDoubledQuotes
                    ? String(validating: CSVReader.unquoting(bytes), as: UTF8.self) : String(validating: bytes, as: UTF8.self)
                guard let field else { throw Error(source: source, line: parsed.line, message: "invalid UTF-8") }
                fields.append(field)
            }
            return fields
        }
        return Record(fields: fields, line: parsed.line)
    }

    /// Appends the next record to `batch` as the file's bytes (see `CSVRawBatch`), with `valueColumn`'s value
    /// unquoted and where `replacedColumn`'s bytes are. False at the end of the file; blank lines are skipped.
    /// `fieldLimit`: more fields than that is an error naming the line (the header's count).
    func appendRaw(to batch: inout CSVRawBatch, valueColumn: Int, replacedColumn: Int?, fieldLimit: Int) throws(CSVReader.Error) -> Bool {
        while let parsed = try nextParsed() {
            if spans.isEmpty { continue }
            guard spans.count <= fieldLimit else { throw Error.tooManyFields(spans.count, limit: fieldLimit, source: source, line: parsed.line) }
            let source = self.source
            let spans = self.spans
            try buffer.withUnsafeBufferPointer { b throws(CSVReader.Error) in
                let raw = UnsafeBufferPointer(rebasing: b[parsed.start..<parsed.contentEnd])
                guard UTF8Validation.isValid(UnsafeRawBufferPointer(raw)) else { throw Error(source: source, line: parsed.line, message: "invalid UTF-8") }
                let rawStart = batch.bytes.count
                batch.bytes.append(contentsOf: raw)
                let valueStart = batch.values.count
                if valueColumn < spans.count {
                    let span = spans[valueColumn]
                    let bytes = UnsafeBufferPointer(rebasing: b[span.start..<span.end])
                    if span.hasDoubledQuotes { batch.values.append(contentsOf: CSVReader.unquoting(bytes)) } else { batch.values.append(contentsOf: bytes) }
                }
                var replaced: Range<Int>?
                if let replacedColumn, replacedColumn < spans.count {
                    var span = spans[replacedColumn]
                    if span.isQuoted { span.start -= 1; span.end += 1 }  // with its quotes
                    replaced = (rawStart + span.start - parsed.start)..<(rawStart + span.end - parsed.start)
                }
                batch.records.append(CSVRawBatch.Record(line: parsed.line, raw: rawStart..<batch.bytes.count, fieldCount: spans.count,
                                                        value: valueStart..<batch.values.count, replaced: replaced))
            }
            return true
        }
        return false
    }

    /// A quoted field's bytes with each doubled quote made one.
    private static func unquoting(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var skip = false
        for byte in bytes {
            if skip { skip = false; continue }
            out.append(byte)
            if byte == UInt8(ascii: "\"") { skip = true }
        }
        return out
    }

    /// Parses the next record, refilling the buffer as needed; its fields are left in `spans`. Nil at the end.
    private func nextParsed() throws(CSVReader.Error) -> ParsedRecord? {
        if atStart {
            atStart = false
            while buffer.count - position < 3, refill() {}
            if buffer.count - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB,
               buffer[position + 2] == 0xBF {
                position += 3
            }
        }
        while true {
            if position >= buffer.count, !refill() { return nil }
            if let record = try parseRecord(final: exhausted) { return record }
            if !refill() {
                // The source ended inside this record: read it as what there is.
                return try parseRecord(final: true)
            }
        }
    }

    /// Parses the record at `position` into `spans`, a field at a time; nil when it runs past the bytes read so far
    /// and more may come (`final` false). Moves `position` and `line` past it only when it is complete.
    private func parseRecord(final: Bool) throws(CSVReader.Error) -> ParsedRecord? {
        let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), newline: UInt8 = 10, carriageReturn: UInt8 = 13
        let startLine = line
        let source = self.source
        let start = position
        var line = self.line
        var crlf = false
        spans.removeAll(keepingCapacity: true)
        let parsed: (contentEnd: Int, end: Int)? = try buffer.withUnsafeBufferPointer { b throws(CSVReader.Error) -> (contentEnd: Int, end: Int)? in
            let n = b.count
            var i = start
            while true {
                if i < n, b[i] == quote {
                    // A quoted field: up to the closing quote; "" inside is one quote.
                    i += 1
                    let fieldStart = i
                    var doubled = false
                    while true {
                        guard i < n else {
                            if final {
                                throw Error(source: source, line: startLine, message: "unterminated quoted field (opened on line \(startLine))")
                            }
                            return nil
                        }
                        let byte = b[i]
                        if byte == quote {
                            guard i + 1 < n || final else { return nil }
                            if i + 1 < n, b[i + 1] == quote {
                                doubled = true
                                i += 2
                                continue
                            }
                            break
                        }
                        if byte == newline { line += 1 }
                        i += 1
                    }
                    spans.append(FieldSpan(start: fieldStart, end: i, isQuoted: true, hasDoubledQuotes: doubled))
                    i += 1
                    if i < n, b[i] != comma, b[i] != newline, b[i] != carriageReturn {
                        throw Error(source: source, line: line,
                                    message: "unexpected character after a closing quote (quotes inside a field must be doubled)")
                    }
                } else {
                    // A plain field: up to the next comma or line end (a quote inside it is kept as it is).
                    let fieldStart = i
                    while i < n, b[i] != comma, b[i] != newline, b[i] != carriageReturn { i += 1 }
                    guard i < n || final else { return nil }
                    if spans.isEmpty, i == fieldStart, i < n, b[i] != comma {  // a blank line
                        let contentEnd = i
                        if b[i] == carriageReturn {
                            guard i + 1 < n || final else { return nil }
                            if i + 1 < n, b[i + 1] == newline { i += 1; crlf = true }
                        }
                        line += 1
                        return (contentEnd, i + 1)
                    }
                    spans.append(FieldSpan(start: fieldStart, end: i, isQuoted: false, hasDoubledQuotes: false))
                }
                guard i < n else { return (i, i) }
                if b[i] == comma {
                    i += 1
                    continue
                }
                let contentEnd = i
                if b[i] == carriageReturn {
                    guard i + 1 < n || final else { return nil }
                    if i + 1 < n, b[i + 1] == newline { i += 1; crlf = true }
                }
                line += 1
                return (contentEnd, i + 1)
            }
        }
        guard let parsed else { return nil }
        position = parsed.end
        self.line = line
        if crlf { usesCRLF = true }
        return ParsedRecord(start: start, contentEnd: parsed.contentEnd, line: startLine)
    }
}

/// A CSV file with a header row: records come as fields looked up by column name.
public final class CSVTable {
    public let reader: CSVReader
    public let header: [String]
    private let index: [String: Int]

    /// Reads the header; an empty file is an error.
    public init(reader: CSVReader) throws(CSVReader.Error) {
        self.reader = reader
        guard let first = try reader.next() else {
            throw CSVReader.Error(source: reader.source, line: 1, message: "empty file: expected a header row")
        }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        var index: [String: Int] = [:]
        for (i, name) in header.enumerated() where index[name] == nil { index[name] = i }
        self.index = index
    }

    public func column(_ name: String) -> Int? { index[name] }

    /// The column's position, or an error that lists the columns the file has.
    public func require(_ name: String) throws(CSVReader.Error) -> Int {
        guard let column = index[name] else {
            throw CSVReader.Error(source: reader.source, line: 1,
                                  message: "missing column '\(name)' (the header has: \(header.joined(separator: ", ")))")
        }
        return column
    }

    /// The column holding the messages: `name` when given; else `message`, or the seed's export column
    /// `Message Body`, whichever the header has.
    public func messageColumn(named name: String?) throws(CSVReader.Error) -> Int {
        if let name { return try require(name) }
        if let column = index["message"] ?? index["Message Body"] { return column }
        throw CSVReader.Error(source: reader.source, line: 1, message: "no message column: expected 'message' or 'Message Body' "
            + "(the header has: \(header.joined(separator: ", "))); name another with --column")
    }

    /// Appends the next data rows to `batch` until it holds `count` records or the file ends (see `CSVRawBatch`);
    /// false when it ended before any was added. Errors as `next`.
    public func appendRaw(to batch: inout CSVRawBatch, count: Int, valueColumn: Int, replacedColumn: Int?) throws(CSVReader.Error) -> Bool {
        var added = false
        while batch.records.count < count,
              try reader.appendRaw(to: &batch, valueColumn: valueColumn, replacedColumn: replacedColumn, fieldLimit: header.count) {
            added = true
        }
        return added
    }

    /// The next data row, skipping blank lines; an error when it has more fields than the header.
    public func next() throws(CSVReader.Error) -> CSVReader.Record? {
        while let record = try reader.next() {
            if record.fields.isEmpty { continue }
            guard record.fields.count <= header.count else {
                throw CSVReader.Error.tooManyFields(record.fields.count, limit: header.count, source: reader.source, line: record.line)
            }
            return record
        }
        return nil
    }
}

/// Writes CSV the way Python's `csv` module does by default: quotes a field only when it holds a comma, a
/// quote or a line break.
public struct CSVWriter {
    public var lineEnding: String

    public init(lineEnding: String = "\n") { self.lineEnding = lineEnding }

    /// Appends `fields` as one line to `out`, byte by byte (no intermediate strings).
    public func append(_ fields: [String], to out: inout [UInt8]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            CSVWriter.append(field, to: &out)
        }
        out.append(contentsOf: lineEnding.utf8)
    }

    public func line(_ fields: [String]) -> String {
        var bytes: [UInt8] = []
        append(fields, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func quote(_ field: String) -> String {
        var bytes: [UInt8] = []
        append(field, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func append(_ field: String, to out: inout [UInt8]) {
        var field = field
        field.withUTF8 { bytes in
            let quote = UInt8(ascii: "\"")
            var needsQuotes = false
            for byte in bytes where byte == UInt8(ascii: ",") || byte == quote || byte == 10 || byte == 13 {
                needsQuotes = true
                break
            }
            guard needsQuotes else { return out.append(contentsOf: bytes) }
            out.append(quote)
            for byte in bytes {
                if byte == quote { out.append(quote) }
                out.append(byte)
            }
            out.append(quote)
        }
    }
}
