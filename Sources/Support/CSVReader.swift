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

    @inline(__always)
    private func peek() -> UInt8? {
        if position < buffer.count { return buffer[position] }
        return refill() ? buffer[position] : nil
    }

    /// The next record, or nil at the end of the file. A blank line yields a record without fields.
    public func next() throws(CSVReader.Error) -> Record? {
        if atStart {
            atStart = false
            while buffer.count - position < 3, refill() {}
            if buffer.count - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB,
               buffer[position + 2] == 0xBF {
                position += 3
            }
        }
        guard peek() != nil else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var fieldStart = true
        while true {
            guard let byte = peek() else {
                if quoted {
                    throw Error(source: source, line: startLine, message: "unterminated quoted field (opened on line \(startLine))")
                }
                try fields.append(text(field, startLine))
                return Record(fields: fields, line: startLine)
            }
            position += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if peek() == UInt8(ascii: "\"") {
                        position += 1
                        field.append(byte)
                    } else {
                        quoted = false
                        if let after = peek(), after != UInt8(ascii: ","), after != 10, after != 13 {
                            throw Error(source: source, line: line,
                                        message: "unexpected character after a closing quote (quotes inside a field must be doubled)")
                        }
                    }
                } else {
                    if byte == 10 { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: ","):
                try fields.append(text(field, startLine))
                field.removeAll(keepingCapacity: true)
                fieldStart = true
                continue
            case 13, 10:
                if byte == 13, peek() == 10 {
                    position += 1
                    usesCRLF = true
                }
                line += 1
                if fields.isEmpty, field.isEmpty, fieldStart { return Record(fields: [], line: startLine) }
                try fields.append(text(field, startLine))
                return Record(fields: fields, line: startLine)
            case UInt8(ascii: "\"") where fieldStart:
                quoted = true
            default:
                field.append(byte)
            }
            fieldStart = false
        }
    }

    private func text(_ bytes: [UInt8], _ line: Int) throws(CSVReader.Error) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Error(source: source, line: line, message: "invalid UTF-8")
        }
        return text
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

    /// The next data row, skipping blank lines; an error when it has more fields than the header.
    public func next() throws(CSVReader.Error) -> CSVReader.Record? {
        while let record = try reader.next() {
            if record.fields.isEmpty { continue }
            guard record.fields.count <= header.count else {
                throw CSVReader.Error(source: reader.source, line: record.line,
                                      message: "\(record.fields.count) fields, but the header has \(header.count)")
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

    public func line(_ fields: [String]) -> String {
        fields.map(CSVWriter.quote).joined(separator: ",") + lineEnding
    }

    public static func quote(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
