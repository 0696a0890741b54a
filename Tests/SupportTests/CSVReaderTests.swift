import XCTest
@testable import Support

/// The streaming CSV reader: RFC 4180 as spreadsheets and Python write it, errors naming the line.
final class CSVReaderTests: XCTestCase {
    private func records(_ text: String) throws -> [[String]] {
        let reader = CSVReader(bytes: Array(text.utf8), source: "test.csv")
        var result: [[String]] = []
        while let record = try reader.next() { result.append(record.fields) }
        return result
    }

    func testQuotedFieldsWithCommasQuotesAndNewlines() throws {
        XCTAssertEqual(try records("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",z\n"),
                       [["a", "b"], ["x, y", "say \"hi\""], ["multi\nline", "z"]])
    }

    func testCRLFAndByteOrderMarkAndNoFinalNewline() throws {
        let reader = CSVReader(bytes: [0xEF, 0xBB, 0xBF] + Array("id,message\r\n1,\"a\r\nb\"\r\n2,c".utf8), source: "t")
        var result: [[String]] = []
        while let record = try reader.next() { result.append(record.fields) }
        XCTAssertEqual(result, [["id", "message"], ["1", "a\r\nb"], ["2", "c"]])
        XCTAssertTrue(reader.usesCRLF)
    }

    func testLineNumbersCountPhysicalLines() throws {
        let reader = CSVReader(bytes: Array("h\n\"a\nb\"\nc\n".utf8), source: "t")
        XCTAssertEqual(try reader.next()?.line, 1)
        XCTAssertEqual(try reader.next()?.line, 2)
        XCTAssertEqual(try reader.next()?.line, 4)
    }

    func testUnterminatedQuoteIsAnErrorNamingTheLine() {
        XCTAssertThrowsError(try records("a\n\"open\n\nstill open")) { error in
            XCTAssertEqual(error as? CSVReader.Error,
                           CSVReader.Error(source: "test.csv", line: 2, message: "unterminated quoted field (opened on line 2)"))
        }
    }

    func testTextAfterAClosingQuoteIsAnError() {
        XCTAssertThrowsError(try records("a\n\"x\"y\n")) { error in
            XCTAssertEqual((error as? CSVReader.Error)?.line, 2)
        }
    }

    func testInvalidUTF8IsAnErrorNamingTheLine() {
        let reader = CSVReader(bytes: Array("a\nok\n".utf8) + [0xFF, 0x0A], source: "t")
        XCTAssertNoThrow(try reader.next())
        XCTAssertNoThrow(try reader.next())
        XCTAssertThrowsError(try reader.next()) { error in
            XCTAssertEqual(error as? CSVReader.Error, CSVReader.Error(source: "t", line: 3, message: "invalid UTF-8"))
        }
    }

    func testTableRequiresColumnsAndRejectsExtraFields() throws {
        let table = try CSVTable(reader: CSVReader(bytes: Array("id, message\n1,hi\n\n2,a,b\n".utf8), source: "t"))
        XCTAssertEqual(try table.require("message"), 1)
        XCTAssertThrowsError(try table.require("expected")) { error in
            XCTAssertEqual("\(error)", "t:1: missing column 'expected' (the header has: id, message)")
        }
        XCTAssertEqual(try table.next()?.fields, ["1", "hi"])
        XCTAssertThrowsError(try table.next()) { error in
            XCTAssertEqual((error as? CSVReader.Error)?.line, 4)
        }
    }

    /// The raw records `score --csv` writes back: each record's bytes as in the file, its value unquoted, and the
    /// replaced column's bytes with their quotes; the same records, lines and errors as `next`.
    func testRawRecordsKeepTheFilesBytes() throws {
        let text = "id,message,urgency\r\n1,\"say \"\"hi\"\"\",\"2.0\"\r\n\r\n2,\"multi\r\nline, too\"\r\n3\r\n4,plain,\r\n"
        let table = try CSVTable(reader: CSVReader(bytes: Array(text.utf8), source: "t"))
        var batch = CSVRawBatch()
        XCTAssertTrue(try table.appendRaw(to: &batch, count: 100, valueColumn: 1, replacedColumn: 2))
        XCTAssertFalse(try table.appendRaw(to: &batch, count: 100, valueColumn: 1, replacedColumn: 2))
        func raw(_ range: Range<Int>) -> String { String(decoding: batch.bytes[range], as: UTF8.self) }
        func value(_ record: CSVRawBatch.Record) -> String { String(decoding: batch.values[record.value], as: UTF8.self) }
        XCTAssertEqual(batch.records.map { raw($0.raw) }, ["1,\"say \"\"hi\"\"\",\"2.0\"", "2,\"multi\r\nline, too\"", "3", "4,plain,"])
        XCTAssertEqual(batch.records.map(value), ["say \"hi\"", "multi\r\nline, too", "", "plain"])
        XCTAssertEqual(batch.records.map(\.line), [2, 4, 6, 7])
        XCTAssertEqual(batch.records.map(\.fieldCount), [3, 2, 1, 3])
        XCTAssertEqual(batch.records.map { $0.replaced.map(raw) }, ["\"2.0\"", nil, nil, ""])
        XCTAssertTrue(table.reader.usesCRLF)
    }

    func testRawRecordsComeInBatchesAndKeepTheirErrors() throws {
        let table = try CSVTable(reader: CSVReader(bytes: Array("message\na\nb\nc\n".utf8) + [0xC3, 0x28, 0x0A] + Array("d,e\n".utf8),
                                                   source: "t"))
        var first = CSVRawBatch()
        XCTAssertTrue(try table.appendRaw(to: &first, count: 2, valueColumn: 0, replacedColumn: nil))
        XCTAssertEqual(first.records.count, 2)
        var second = CSVRawBatch()
        XCTAssertThrowsError(try table.appendRaw(to: &second, count: 2, valueColumn: 0, replacedColumn: nil)) { error in
            XCTAssertEqual(error as? CSVReader.Error, CSVReader.Error(source: "t", line: 5, message: "invalid UTF-8"))
        }
        XCTAssertEqual(second.records.map { String(decoding: second.bytes[$0.raw], as: UTF8.self) }, ["c"], "the rows before the error are kept")
        let extra = try CSVTable(reader: CSVReader(bytes: Array("message\nd,e\n".utf8), source: "t"))
        var batch = CSVRawBatch()
        XCTAssertThrowsError(try extra.appendRaw(to: &batch, count: 2, valueColumn: 0, replacedColumn: nil)) { error in
            XCTAssertEqual("\(error)", "t:2: 2 fields, but the header has 1")
        }
    }

    func testEmptyFileIsAnError() {
        XCTAssertThrowsError(try CSVTable(reader: CSVReader(bytes: [], source: "empty.csv"))) { error in
            XCTAssertEqual("\(error)", "empty.csv:1: empty file: expected a header row")
        }
    }

    func testStreamsLargeFilesFromDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var text = "id,message\n"
        for i in 0..<20_000 { text += "\(i),\"line \(i), with a comma\"\n" }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let table = try CSVTable(reader: CSVReader(path: path))
        var count = 0
        while let record = try table.next() {
            XCTAssertEqual(record.fields[1], "line \(count), with a comma")
            count += 1
        }
        XCTAssertEqual(count, 20_000)
    }

    func testWriterQuotesOnlyWhenNeeded() {
        let writer = CSVWriter(lineEnding: "\n")
        XCTAssertEqual(writer.line(["plain", "with, comma", "with \"quote\"", "two\nlines"]),
                       "plain,\"with, comma\",\"with \"\"quote\"\"\",\"two\nlines\"\n")
    }

    /// Whatever the writer writes, the reader reads back, with records, quotes, doubled quotes, CRLF and line
    /// breaks falling across the 64 KiB chunks of a file at every offset.
    func testRoundTripsAcrossChunkBoundaries() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["plain", "with, comma", "say \"hi\"", "two\nlines", "crlf\r\nline", "ünïcode 🙏", "", "\"\"", "a\"b"]
        var rows: [[String]] = []
        for _ in 0..<12_000 {
            rows.append((0..<3).map { _ in
                (0..<Int.random(in: 1...4, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            })
        }
        let writer = CSVWriter(lineEnding: "\r\n")
        var bytes: [UInt8] = []
        writer.append(["a", "b", "c"], to: &bytes)
        for row in rows { writer.append(row, to: &bytes) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-csv-\(UUID().uuidString).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        XCTAssertGreaterThan(bytes.count, 4 * 65_536)
        let table = try CSVTable(reader: CSVReader(path: path))
        var read: [[String]] = []
        while let record = try table.next() { read.append(record.fields) }
        XCTAssertEqual(read.count, rows.count)
        XCTAssertEqual(read, rows)
        XCTAssertTrue(table.reader.usesCRLF)
    }
}
