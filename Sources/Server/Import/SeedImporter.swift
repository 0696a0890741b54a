import Foundation
import RulesEngine
import Support

/// What an import did: rows read, messages and customers added, rows already present, rows refused (with
/// their line numbers, the first 100 of them).
public struct ImportReport: Sendable, Equatable {
    public struct SkippedRow: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    public var rows = 0
    public var messages = 0
    public var customers = 0
    public var duplicates = 0
    public var skippedCount = 0
    public var skipped: [SkippedRow] = []

    public var json: JSONValue {
        [
            "success": true,
            "seeded": ["rows": .integer(Int64(rows)), "messages": .integer(Int64(messages)), "customers": .integer(Int64(customers))],
            "duplicates": .integer(Int64(duplicates)),
            "skipped": .integer(Int64(skippedCount)),
            "errors": .array(skipped.map { ["line": .integer(Int64($0.line)), "error": .string($0.reason)] }),
        ]
    }
}

/// A file that cannot be imported at all (unreadable, not CSV, missing columns).
public struct ImportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Imports the seed's CSV format (`User ID,Timestamp (UTC),Message Body`, columns in any order): scores every
/// message with the active rules, stores them in batched transactions, and skips rows already imported (same
/// customer, time and text), so importing a file twice adds nothing. Bad rows are reported and skipped.
public final class SeedImporter: Sendable {
    public static let batchSize = 1000
    private let store: any ImportStore
    private let rules: ActiveRules

    public init(store: any ImportStore, rules: ActiveRules) {
        self.store = store
        self.rules = rules
    }

    /// Imports `path`, scoring with `options` on up to `concurrency` threads (more than one only pays when the
    /// LLM step calls a model). `progress` is told the bytes read so far and the file size.
    public func importFile(_ path: String, options: ScoringOptions = ScoringOptions(), concurrency: Int = 1,
                           progress: ((_ bytes: Int, _ total: Int) -> Void)? = nil) throws(ImportError) -> ImportReport {
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        let table: CSVTable
        let columns: (user: Int, time: Int, body: Int)
        do {
            table = try CSVTable(reader: try CSVReader(path: path))
            columns = try SeedImporter.columns(of: table)
        } catch let error as CSVReader.Error {
            throw ImportError(message: error.description)
        } catch let error as ImportError {
            throw error
        } catch {
            throw ImportError(message: "\(path): \(error)")
        }
        var report = ImportReport()
        var batch: [NewMessage] = []
        batch.reserveCapacity(SeedImporter.batchSize)
        var pending: [(input: ScoringInput, time: Timestamp, key: String)] = []
        let scoring = BatchScoring(scorer: rules.scorer, options: options, concurrency: concurrency)
        // Batches are stored on a thread of their own while the next one is read and scored: one in flight.
        let writes = BatchWriter(store: store)
        func flush() throws(ImportError) {
            guard !pending.isEmpty else { return }
            for (row, scored) in zip(pending, scoring.score(pending.map(\.input))) {
                let score = scored.score
                batch.append(NewMessage(customerID: row.input.customerID ?? 0, body: row.input.text, createdAt: row.time,
                                        urgency: score.value, rulesVersion: score.rulesVersion,
                                        breakdownJSON: LLMBreakdownState.stored(score.breakdown), importKey: row.key,
                                        responseDue: scoring.scorer.responseTargets?.due(createdAt: row.time, score: score.value)))
            }
            pending.removeAll(keepingCapacity: true)
            try writes.absorb(into: &report, waitForAll: false)
            writes.submit(batch)
            batch.removeAll(keepingCapacity: true)
            progress?(table.reader.bytesRead, size)
        }
        while true {
            let record: CSVReader.Record
            do {
                guard let next = try table.next() else { break }
                record = next
            } catch {
                report.rows += 1
                skip(&report, line: error.line, reason: error.message)
                break  // the reader cannot resynchronise after malformed CSV
            }
            report.rows += 1
            func field(_ index: Int) -> String { index < record.fields.count ? record.fields[index] : "" }
            let userText = field(columns.user).trimmingWhitespace()
            guard let user = Int64(userText), user > 0, userText.allSatisfy(\.isASCII) else {
                skip(&report, line: record.line, reason: "User ID must be a positive integer, got '\(userText)'")
                continue
            }
            guard let time = Timestamp(parsing: field(columns.time)) else {
                skip(&report, line: record.line, reason: "unreadable timestamp '\(field(columns.time))'")
                continue
            }
            let body = field(columns.body).trimmingWhitespace()
            guard !body.isEmpty else {
                skip(&report, line: record.line, reason: "empty message body")
                continue
            }
            let key = SHA256.hex(Array("\(user)\u{0}\(time.microseconds)\u{0}\(body)".utf8)).prefix(32)
            pending.append((ScoringInput(text: body, customerID: user), time, String(key)))
            if pending.count >= SeedImporter.batchSize { try flush() }
        }
        try flush()
        try writes.absorb(into: &report, waitForAll: true)
        if report.messages >= 10_000 { try? store.refreshStatistics() }  // plan the next queries for the new data
        progress?(size, size)
        return report
    }

    private func skip(_ report: inout ImportReport, line: Int, reason: String) {
        report.skippedCount += 1
        if report.skipped.count < 100 { report.skipped.append(.init(line: line, reason: reason)) }
    }

    /// The positions of the user, time and body columns, by their names in the seed's export (case and
    /// spacing ignored; short forms accepted).
    private static func columns(of table: CSVTable) throws(ImportError) -> (user: Int, time: Int, body: Int) {
        let normalized = table.header.map { $0.lowercased().filter { $0.isLetter || $0.isNumber } }
        func find(_ names: [String], _ label: String) throws(ImportError) -> Int {
            guard let index = normalized.firstIndex(where: names.contains) else {
                throw ImportError(message: "\(table.reader.source):1: missing column '\(label)' (the header has: "
                                  + table.header.joined(separator: ", ") + ")")
            }
            return index
        }
        return (try find(["userid", "customerid", "user"], "User ID"),
                try find(["timestamputc", "timestamp", "time"], "Timestamp (UTC)"),
                try find(["messagebody", "message", "body"], "Message Body"))
    }
}

/// Stores import batches on a background thread, one at a time, so reading and scoring the next batch overlaps
/// with writing this one.
private final class BatchWriter: @unchecked Sendable {
    private let store: any ImportStore
    private let queue = DispatchQueue(label: "import-writer")
    private let slots = DispatchSemaphore(value: 1)
    private let lock = NSLock()
    private var results: [(count: Int, outcome: Result<ImportBatchResult, StoreError>)] = []
    private var submitted = 0

    init(store: any ImportStore) { self.store = store }

    /// Queues a batch; waits while the previous one is still being written.
    func submit(_ batch: [NewMessage]) {
        slots.wait()
        submitted += 1
        queue.async { [store] in
            let outcome = Result { () throws(StoreError) in try store.importMessages(batch) }
            self.lock.lock()
            self.results.append((batch.count, outcome))
            self.lock.unlock()
            self.slots.signal()
        }
    }

    /// Adds the finished batches to `report` (waiting for all when `waitForAll`); the first storage failure.
    func absorb(into report: inout ImportReport, waitForAll: Bool) throws(ImportError) {
        if waitForAll { queue.sync {} }
        lock.lock()
        let finished = results
        results.removeAll()
        lock.unlock()
        for (count, outcome) in finished {
            switch outcome {
            case .success(let added):
                report.messages += added.messagesAdded
                report.customers += added.customersAdded
                report.duplicates += count - added.messagesAdded
            case .failure(let error):
                queue.sync {}
                throw ImportError(message: "storage failed after \(report.messages) messages: \(error.message)")
            }
        }
    }
}
