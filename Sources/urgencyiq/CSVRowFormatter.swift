import Foundation
import RulesEngine
import Support

/// The rows `score --csv` writes: each record with its urgency (in its own column, or replacing an `urgency`
/// column the file has), as CSV bytes on standard output; a message the rules failed on is reported on standard
/// error with its line and gets an empty urgency. Used from one thread at a time.
final class CSVRowFormatter: @unchecked Sendable {
    private let path: String
    private let columns: Int
    private let urgencyColumn: Int?
    private let writer: CSVWriter
    private let progress = ProgressReporter(label: "scoring")
    private var output: [UInt8] = []
    private(set) var rows = 0
    private(set) var failures = 0

    /// Starts the output with the header (plus `urgency` when the file has no such column).
    init(path: String, header: [String], urgencyColumn: Int?, writer: CSVWriter) {
        self.path = path
        columns = header.count
        self.urgencyColumn = urgencyColumn
        self.writer = writer
        writer.append(urgencyColumn == nil ? header + ["urgency"] : header, to: &output)
    }

    func write(_ records: [CSVReader.Record], _ results: [Result<Double, ScoringError>]) {
        for (record, result) in zip(records, results) {
            var fields = record.fields
            while fields.count < columns { fields.append("") }
            let urgency: String
            switch result {
            case .success(let value):
                urgency = JSONValue.format(number: value)
            case .failure(let error):
                failures += 1
                urgency = ""
                Terminal.error("\(path):\(record.line): the rules failed on this message: \(error)")
            }
            if let urgencyColumn { fields[urgencyColumn] = urgency } else { fields.append(urgency) }
            writer.append(fields, to: &output)
            if output.count >= 1 << 16 { flush() }
        }
        rows += records.count
        progress.update(rows)
    }

    /// Hands what is formatted to standard output (`done`: and the progress line its end).
    func flush(done: Bool = false) {
        Terminal.write(bytes: output)
        output.removeAll(keepingCapacity: true)
        if done { progress.finish() }
    }
}
