import Foundation
import Support
import Synchronization

/// Reads a CSV table's records in batches on a thread of its own, at most two batches ahead, so reading the next
/// batch overlaps with scoring and writing this one (`score --csv`). Memory stays bounded by the two batches.
final class CSVBatchReader: @unchecked Sendable {
    private let table: CSVTable
    private let batchSize: Int
    private let lock = NSCondition()
    private var ready: [[CSVReader.Record]] = []
    private var finished = false
    private var failure: CSVReader.Error?

    init(table: CSVTable, batchSize: Int) {
        self.table = table
        self.batchSize = batchSize
        let thread = Thread { [self] in read() }
        thread.name = "csv-reader"
        thread.start()
    }

    /// The next batch in file order; nil at the end. A malformed file ends the batches, then throws its error.
    func next() throws(CSVReader.Error) -> [CSVReader.Record]? {
        lock.lock()
        defer { lock.unlock() }
        while ready.isEmpty && !finished { lock.wait() }
        if !ready.isEmpty {
            let batch = ready.removeFirst()
            lock.broadcast()
            return batch
        }
        if let failure { throw failure }
        return nil
    }

    private func read() {
        var batch: [CSVReader.Record] = []
        batch.reserveCapacity(batchSize)
        func hand(_ done: Bool, _ error: CSVReader.Error? = nil) {
            lock.lock()
            while ready.count >= 2 { lock.wait() }
            if !batch.isEmpty { ready.append(batch) }
            if done {
                finished = true
                failure = error
            }
            lock.broadcast()
            lock.unlock()
            batch.removeAll(keepingCapacity: true)
        }
        do {
            while let record = try table.next() {
                batch.append(record)
                if batch.count == batchSize { hand(false) }
            }
            hand(true)
        } catch {
            hand(true, error)
        }
    }
}
