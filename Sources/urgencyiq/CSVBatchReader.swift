import Foundation
import Support

/// Reads a CSV table's records in batches of raw bytes (`CSVRawBatch`) on a thread of its own, at most two batches
/// ahead, so reading the next batch overlaps with scoring and writing this one (`score --csv`). Memory stays
/// bounded by the two batches.
final class CSVBatchReader: @unchecked Sendable {
    private let table: CSVTable
    private let batchSize: Int
    private let valueColumn: Int
    private let replacedColumn: Int?
    private let batches = BoundedHandoff<CSVRawBatch>(capacity: 2)
    /// Set by the reading thread before it closes `batches`; read only after they are drained.
    private var failure: CSVReader.Error?

    /// Each record's `valueColumn` comes unquoted, and where its `replacedColumn` is (see `CSVTable.appendRaw`).
    init(table: CSVTable, batchSize: Int, valueColumn: Int, replacedColumn: Int?) {
        self.table = table
        self.batchSize = batchSize
        self.valueColumn = valueColumn
        self.replacedColumn = replacedColumn
        let thread = Thread { [self] in
            nameCurrentThread("csv-reader")
            read()
        }
        thread.start()
    }

    /// The next batch in file order; nil at the end. A malformed file ends the batches, then throws its error.
    func next() throws(CSVReader.Error) -> CSVRawBatch? {
        if let batch = batches.take() { return batch }
        if let failure { throw failure }
        return nil
    }

    private func read() {
        var more = true
        while more {
            var batch = CSVRawBatch()
            batch.records.reserveCapacity(batchSize)
            do {
                more = try table.appendRaw(to: &batch, count: batchSize, valueColumn: valueColumn, replacedColumn: replacedColumn)
            } catch {
                failure = error  // the rows before it are still scored and written
                more = false
            }
            if !batch.isEmpty { batches.put(batch) }
        }
        batches.close()
    }
}
