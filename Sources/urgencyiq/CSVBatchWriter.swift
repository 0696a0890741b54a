import Foundation
import RulesEngine
import Support

/// Formats and writes scored batches of `score --csv` on a thread of its own, in the order they are handed in and
/// at most two batches behind, so that writing one batch overlaps with scoring the next. Standard output is
/// written only from that thread until `finish` returns.
final class CSVBatchWriter: @unchecked Sendable {
    /// One batch: the records as read, and each one's urgency or the reason the rules gave none.
    typealias Batch = (records: [CSVReader.Record], results: [Result<Double, ScoringError>])

    private let lock = NSCondition()
    private var queued: [Batch] = []
    private var closed = false
    private var finished = false
    private let format: CSVRowFormatter

    init(format: CSVRowFormatter) {
        self.format = format
        let thread = Thread { [self] in run() }
        thread.name = "csv-writer"
        thread.start()
    }

    /// Queues a batch; waits while two are queued already.
    func write(_ batch: Batch) {
        lock.lock()
        while queued.count >= 2 { lock.wait() }
        queued.append(batch)
        lock.broadcast()
        lock.unlock()
    }

    /// Writes what is queued and stops the thread; the formatter's counts are final once this returns.
    func finish() {
        lock.lock()
        closed = true
        lock.broadcast()
        while !finished { lock.wait() }
        lock.unlock()
    }

    private func run() {
        while true {
            lock.lock()
            while queued.isEmpty && !closed { lock.wait() }
            guard !queued.isEmpty else {
                finished = true
                lock.broadcast()
                lock.unlock()
                return
            }
            let batch = queued.removeFirst()
            lock.broadcast()
            lock.unlock()
            format.write(batch.records, batch.results)
        }
    }
}

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
