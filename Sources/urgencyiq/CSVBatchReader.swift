import Foundation
import Support

/// Reads a CSV table's records in batches on a thread of its own, at most two batches ahead, so reading the next
/// batch overlaps with scoring and writing this one (`score --csv`). Memory stays bounded by the two batches.
final class CSVBatchReader: @unchecked Sendable {
    private let table: CSVTable
    private let batchSize: Int
    private let batches = BoundedHandoff<[CSVReader.Record]>(capacity: 2)
    /// Set by the reading thread before it closes `batches`; read only after they are drained.
    private var failure: CSVReader.Error?

    init(table: CSVTable, batchSize: Int) {
        self.table = table
        self.batchSize = batchSize
        let thread = Thread { [self] in
            nameCurrentThread("csv-reader")
            read()
        }
        thread.start()
    }

    /// The next batch in file order; nil at the end. A malformed file ends the batches, then throws its error.
    func next() throws(CSVReader.Error) -> [CSVReader.Record]? {
        if let batch = batches.take() { return batch }
        if let failure { throw failure }
        return nil
    }

    private func read() {
        var batch: [CSVReader.Record] = []
        batch.reserveCapacity(batchSize)
        do {
            while let record = try table.next() {
                batch.append(record)
                if batch.count == batchSize {
                    batches.put(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
        } catch {
            failure = error
        }
        if !batch.isEmpty { batches.put(batch) }
        batches.close()
    }
}
