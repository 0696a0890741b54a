import Foundation
import RulesEngine
import Support

/// Formats and writes scored batches of `score --csv` on a thread of its own, in the order they are handed in and
/// at most two batches behind, so that writing one batch overlaps with scoring the next. Standard output is
/// written only from that thread until `finish` returns.
final class CSVBatchWriter: @unchecked Sendable {
    /// One batch: the records as read, and each one's urgency or the reason the rules gave none.
    typealias Batch = (records: CSVRawBatch, results: [Result<Double, ScoringError>])

    private let batches = BoundedHandoff<Batch>(capacity: 2)
    private let finished = DispatchSemaphore(value: 0)

    init(format: CSVRowFormatter) {
        let thread = Thread { [batches, finished] in
            nameCurrentThread("csv-writer")
            while let batch = batches.take() { format.write(batch.records, batch.results) }
            finished.signal()
        }
        thread.start()
    }

    /// Queues a batch; waits while two are queued already.
    func write(_ batch: Batch) { batches.put(batch) }

    /// Writes what is queued and stops the thread; the formatter's counts are final once this returns.
    func finish() {
        batches.close()
        finished.wait()
    }
}
