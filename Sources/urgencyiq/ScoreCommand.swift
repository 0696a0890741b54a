import Foundation
import RulesEngine
import Support

/// `urgencyiq score`: score one message, or every row of a CSV file.
enum ScoreCommand {
    static let spec = CommandSpec(
        name: "score",
        synopsis: "score [--rules DIR] [--explain] [--json] MESSAGE\n       urgencyiq score [--rules DIR] --csv FILE [--column NAME]",
        summary: "Score a message with the rules and print its urgency; --explain shows how it was reached.",
        options: [
            RulesOptions.option,
            .init(names: ["--explain"], help: "show the breakdown: tier and keyword, modifiers, cap, LLM part"),
            .init(names: ["--json"], help: "print the breakdown as JSON"),
            .init(names: ["--customer"], valueName: "ID", help: "customer id passed to the rules as message.customer_id"),
            .init(names: ["--csv"], valueName: "FILE", help: "score every row of FILE and write it to stdout with an urgency column"),
            .init(names: ["--column"], valueName: "NAME", help: "the column holding the message in --csv mode (default: message)"),
        ],
        details: """
        In --csv mode the file streams: quoted fields with commas and newlines, a UTF-8 BOM and CRLF line
        ends are handled; a missing column or malformed CSV is an error naming the line (exit status 2).
        Exit status: 0 scored, 1 the rules failed on a message, 2 usage, rules or input error.
        """)

    static func run(_ arguments: ParsedArguments) -> Int32 {
        if let file = arguments.value("--csv") {
            guard arguments.positionals.isEmpty else {
                Terminal.error("urgencyiq score: give either a MESSAGE or --csv FILE, not both")
                return 2
            }
            return scoreCSV(file, column: arguments.value("--column") ?? "message", arguments: arguments)
        }
        guard arguments.positionals.count == 1 else {
            Terminal.error("urgencyiq score: expected one MESSAGE argument (quote it); see urgencyiq score --help")
            return 2
        }
        var customer: Int64?
        if let text = arguments.value("--customer") {
            guard let id = Int64(text) else {
                Terminal.error("urgencyiq score: --customer must be an integer")
                return 2
            }
            customer = id
        }
        let scorer = RulesOptions.loadScorer(arguments)
        let explain = arguments.flag("--explain") || arguments.flag("--json")
        do {
            let score = try scorer.score(ScoringInput(text: arguments.positionals[0], customerID: customer),
                                         options: ScoringOptions(explain: explain))
            if arguments.flag("--json"), let breakdown = score.breakdown {
                Terminal.write(breakdown.json.jsonText + "\n")
            } else if explain, let breakdown = score.breakdown {
                Terminal.write(BreakdownText.render(breakdown) + "\n")
            } else {
                Terminal.write(JSONValue.format(number: score.value) + "\n")
            }
            Terminal.flush()
            return 0
        } catch {
            Terminal.error("urgencyiq score: the rules failed on this message: \(error)")
            return 1
        }
    }

    /// Rows scored at once: read, scored on every core (order kept), written; memory stays constant.
    static let csvBatch = 8192

    private static func scoreCSV(_ path: String, column: String, arguments: ParsedArguments) -> Int32 {
        let scorer = RulesOptions.loadScorer(arguments)
        var failures = 0
        do {
            let table = try CSVTable(reader: try CSVReader(path: path))
            let messageColumn = try table.require(column)
            let writer = CSVWriter(lineEnding: table.reader.usesCRLF ? "\r\n" : "\n")
            let urgencyColumn = table.column("urgency")
            var output: [UInt8] = []
            writer.append(urgencyColumn == nil ? table.header + ["urgency"] : table.header, to: &output)
            let progress = ProgressReporter(label: "scoring")
            var rows = 0
            func scoreBatch(_ batch: [CSVReader.Record]) {
                let texts = batch.map { messageColumn < $0.fields.count ? $0.fields[messageColumn] : "" }
                // The score-only path (no breakdown is printed), spread over the cores, in input order.
                let results = parallelMap(texts, .cores(chunk: 256)) { text -> Result<Double, any Error> in
                    do {
                        return .success(try scorer.score(ScoringInput(text: text), options: ScoringOptions(explain: false)).value)
                    } catch {
                        return .failure(error)
                    }
                }
                for (record, result) in zip(batch, results) {
                    var fields = record.fields
                    while fields.count < table.header.count { fields.append("") }
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
                    if output.count >= 1 << 16 {
                        Terminal.write(bytes: output)
                        output.removeAll(keepingCapacity: true)
                    }
                }
                rows += batch.count
                progress.update(rows)
            }
            let batches = CSVBatchReader(table: table, batchSize: csvBatch)
            do {
                while let batch = try batches.next() { scoreBatch(batch) }
            } catch {
                Terminal.write(bytes: output)
                throw error
            }
            Terminal.write(bytes: output)
            progress.finish()
        } catch {
            Terminal.flush()
            Terminal.error("urgencyiq score: \(error)")
            return 2
        }
        Terminal.flush()
        return failures == 0 ? 0 : 1
    }
}
