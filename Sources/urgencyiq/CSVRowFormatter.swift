import Foundation
import RulesEngine
import Support

/// The rows `score --csv` writes: each record as it was read with its urgency (in its own column, or in place of an
/// `urgency` column the file has), as CSV bytes on standard output; a message the rules failed on is reported on
/// standard error with its line and gets an empty urgency. Used from one thread at a time.
final class CSVRowFormatter: @unchecked Sendable {
    private let path: String
    private let columns: Int
    private let urgencyColumn: Int?
    private let lineEnding: [UInt8]
    private let progress = ProgressReporter(label: "scoring")
    private var output: [UInt8] = []
    /// Each urgency's text, formatted once (scores take few distinct values).
    private var formatted: [UInt64: [UInt8]] = [:]
    private(set) var rows = 0
    private(set) var failures = 0

    /// Starts the output with the header (plus `urgency` when the file has no such column).
    init(path: String, header: [String], urgencyColumn: Int?, writer: CSVWriter) {
        self.path = path
        columns = header.count
        self.urgencyColumn = urgencyColumn
        lineEnding = Array(writer.lineEnding.utf8)
        writer.append(urgencyColumn == nil ? header + ["urgency"] : header, to: &output)
    }

    func write(_ batch: CSVRawBatch, _ results: [Result<Double, ScoringError>]) {
        for (record, result) in zip(batch.records, results) {
            let urgency: [UInt8]
            switch result {
            case .success(let value):
                urgency = text(of: value)
            case .failure(let error):
                failures += 1
                urgency = []
                Terminal.error("\(path):\(record.line): the rules failed on this message: \(error)")
            }
            // The record's own bytes with the urgency in its column (the file's own, or a new last one); a short
            // record gets its missing fields as empty ones.
            if let replaced = record.replaced {
                output.append(contentsOf: batch.bytes[record.raw.lowerBound..<replaced.lowerBound])
                output.append(contentsOf: urgency)
                output.append(contentsOf: batch.bytes[replaced.upperBound..<record.raw.upperBound])
                appendEmptyFields(columns - record.fieldCount)
            } else {
                let column = urgencyColumn ?? columns
                output.append(contentsOf: batch.bytes[record.raw])
                appendEmptyFields(column - record.fieldCount)
                output.append(UInt8(ascii: ","))
                output.append(contentsOf: urgency)
                appendEmptyFields(columns - column - 1)
            }
            output.append(contentsOf: lineEnding)
            if output.count >= 1 << 16 { flush() }
        }
        rows += batch.records.count
        progress.update(rows)
    }

    /// Appends `count` empty fields (a comma each; none when `count` is not positive).
    private func appendEmptyFields(_ count: Int) {
        for _ in 0..<max(0, count) { output.append(UInt8(ascii: ",")) }
    }

    private func text(of value: Double) -> [UInt8] {
        if let text = formatted[value.bitPattern] { return text }
        let text = Array(JSONValue.format(number: value).utf8)
        if formatted.count < 4096 { formatted[value.bitPattern] = text }
        return text
    }

    /// Hands what is formatted to standard output (`done`: and the progress line its end).
    func flush(done: Bool = false) {
        Terminal.write(bytes: output)
        output.removeAll(keepingCapacity: true)
        if done { progress.finish() }
    }
}
