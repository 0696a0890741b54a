import Foundation
import RulesEngine
import Server
import Support

/// `urgencyiq import`: load a CSV export in the seed's format into the store.
enum ImportCommand {
    static let spec = CommandSpec(
        name: "import",
        synopsis: "import [--db PATH] [--rules DIR] [--env-file PATH] FILE.csv",
        summary: "Import messages (User ID, Timestamp (UTC), Message Body) into the store (SQLite, or PostgreSQL with "
            + "DATABASE_URL), scoring each; re-importing adds nothing.",
        options: [
            ServerCommandSupport.databaseOption,
            RulesOptions.option,
            ServerCommandSupport.envFileOption,
        ],
        details: "Rows with a bad user id, timestamp or an empty message are reported with their line and skipped.\n"
            + "Exit status: 0 imported, 1 the store failed, 2 usage error or the file cannot be read.")

    static func run(_ arguments: ParsedArguments) -> Int32 {
        guard arguments.positionals.count == 1 else {
            Terminal.error("urgencyiq import: expected one FILE.csv")
            return 2
        }
        let file = arguments.positionals[0]
        guard let job = ServerCommandSupport.openBatchJob(arguments, command: "import") else { return 2 }
        defer { job.store.close() }
        let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
        let progress = ProgressReporter(label: "importing", total: size, unit: .bytes)
        let report: ImportReport
        do {
            report = try SeedImporter(store: job.store, rules: job.rules)
                .importFile(file, options: job.options, concurrency: job.concurrency) { bytes, total in
                progress.update(bytes)
            }
        } catch {
            progress.finish()
            Terminal.error("urgencyiq import: \(error)")
            return error.message.hasPrefix("storage failed") ? 1 : 2
        }
        progress.finish()
        for row in report.skipped { Terminal.error("\(file):\(row.line): skipped: \(row.reason)") }
        if report.skippedCount > report.skipped.count {
            Terminal.error("… and \(report.skippedCount - report.skipped.count) more rows skipped")
        }
        Terminal.write("import: \(report.rows) rows, \(report.messages) messages and \(report.customers) customers added, "
            + "\(report.duplicates) already present, \(report.skippedCount) skipped (rules \(job.rules.scorer.rulesVersion))\n")
        return 0
    }
}
