import Foundation
import RulesEngine
import Server
import Support

/// `urgencyiq rescore`: score stored messages again with the current rules (after a rule change).
enum RescoreCommand {
    static let spec = CommandSpec(
        name: "rescore",
        synopsis: "rescore [--db PATH] [--rules DIR] [--status open|resolved|all] [--env-file PATH]",
        summary: "Score stored messages again with the current rules (SQLite, or PostgreSQL with DATABASE_URL); reports "
            + "how many changed and by how much.",
        options: [
            ServerCommandSupport.databaseOption,
            RulesOptions.option,
            .init(names: ["--status"], valueName: "STATUS", help: "which messages: open (default), resolved or all"),
            ServerCommandSupport.envFileOption,
        ],
        details: "Runs beside a running server (it writes in batches of \(Rescorer.batchSize) messages, one transaction each).\n"
            + "A running server can do the same with POST /admin/rescore.\n"
            + "Exit status: 0 done, 1 the store failed, 2 usage error or the rules cannot be loaded.")

    static func run(_ arguments: ParsedArguments) -> Int32 {
        guard arguments.positionals.isEmpty else {
            Terminal.error("urgencyiq rescore: unexpected argument '\(arguments.positionals[0])'")
            return 2
        }
        let statusText = arguments.value("--status") ?? "open"
        guard let status = MessageQuery.StatusFilter(rawValue: statusText) else {
            Terminal.error("urgencyiq rescore: --status must be open, resolved or all, got '\(statusText)'")
            return 2
        }
        guard let job = ServerCommandSupport.openBatchJob(arguments, command: "rescore") else { return 2 }
        defer { job.store.close() }
        let rescorer = Rescorer(store: job.store, rules: job.rules)
        let report: RescoreReport
        do {
            let progress = ProgressReporter(label: "rescoring", total: try rescorer.count(status: status))
            defer { progress.finish() }
            report = try rescorer.run(status: status, options: job.options, concurrency: job.concurrency) { done in
                progress.update(done)
            }
        } catch {
            Terminal.error("urgencyiq rescore: \(error)")
            return 1
        }
        Terminal.write("rescore: \(report.messages) \(status.rawValue) messages scored with rules \(report.rulesVersion): "
            + "\(report.changed) changed (\(report.increased) up, \(report.decreased) down, mean shift "
            + "\(JSONValue.format(number: (report.meanShift * 1000).rounded() / 1000))), \(report.failures) rule failures\n")
        return 0
    }
}
