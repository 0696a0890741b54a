import Foundation
import RulesEngine
import Server
import Support

/// `urgencyiq score`: score one message, or every row of a CSV file.
enum ScoreCommand {
    static let spec = CommandSpec(
        name: "score",
        synopsis: "score [--rules DIR] [--customer ID] [--llm] [--explain] [--json] MESSAGE\n       urgencyiq score [--rules DIR] --csv FILE [--column NAME]",
        summary: "Score a message with the rules and print its urgency; --explain shows how it was reached.",
        options: [
            RulesOptions.option,
            .init(names: ["--explain"], help: "show the breakdown: tier and keyword, modifiers, cap, LLM part"),
            .init(names: ["--json"], help: "print the breakdown as JSON"),
            .init(names: ["--customer"], valueName: "ID", help: "customer id passed to the rules as message.customer_id"),
            .init(names: ["--llm"], help: "run the LLM step too, calling the configured model (LLM_BASE_URL, LLM_API_KEY, … from "
                  + "the environment or .env), to see the blend the server would store"),
            .init(names: ["--csv"], valueName: "FILE", help: "score every row of FILE and write it to stdout with an urgency column"),
            .init(names: ["--column"], valueName: "NAME", help: "the column holding the message in --csv mode (default: message, or the seed's Message Body)"),
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
            return scoreCSV(file, column: arguments.value("--column"), arguments: arguments)
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
        var options = ScoringOptions(explain: explain)
        if arguments.flag("--llm") {
            do {
                let configuration = try ServerConfiguration.load(flags: [:], environment: ProcessInfo.processInfo.environment)
                guard configuration.llm.hasKey else {
                    Terminal.error("urgencyiq score: --llm needs LLM_API_KEY (or OPENAI_API_KEY), in the environment or .env")
                    return 2
                }
                options = ScoringOptions(explain: explain, llmEnabled: true,
                                         llm: .live(OpenAICompatibleClient(configuration: configuration.llm)))
            } catch {
                Terminal.error("urgencyiq score: \(error)")
                return 2
            }
        }
        do {
            let score = try scorer.score(ScoringInput(text: arguments.positionals[0], customerID: customer), options: options)
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

    private static func scoreCSV(_ path: String, column: String?, arguments: ParsedArguments) -> Int32 {
        // The rules load on a thread of their own while the file is opened and its first batches read. A rules
        // error still comes first: `loadScorer` exits with it before anything else is reported.
        let loadedScorer = BoundedHandoff<Scorer>(capacity: 1)
        Thread {
            nameCurrentThread("rules-load")
            loadedScorer.put(RulesOptions.loadScorer(arguments))
            loadedScorer.close()
        }.start()
        var formatter: CSVRowFormatter?
        do {
            let table = try CSVTable(reader: try CSVReader(path: path))
            let messageColumn = try table.messageColumn(named: column)
            let rows = CSVRowFormatter(path: path, header: table.header, urgencyColumn: table.column("urgency"),
                                       writer: CSVWriter(lineEnding: table.reader.usesCRLF ? "\r\n" : "\n"))
            formatter = rows
            // Three stages, each on its own thread: the next batch is read while this one is scored on every core
            // (the score-only path, in input order) and the previous one is written.
            // Each record stays the file's bytes: written back as it was with its urgency, its message scored
            // from them without a string per row.
            let batches = CSVBatchReader(table: table, batchSize: csvBatch, valueColumn: messageColumn,
                                         replacedColumn: table.column("urgency"))
            guard let scorer = loadedScorer.take() else { return 2 }  // (loadScorer exits on an error)
            let output = CSVBatchWriter(format: rows)
            defer { output.finish() }
            while let batch = try batches.next() {
                let runs = stride(from: 0, to: batch.records.count, by: 256).map { $0..<min(batch.records.count, $0 + 256) }
                let results = parallelMap(runs, .cores(chunk: 1)) { run in
                    batch.values.withUnsafeBytes { values in
                        scorer.scoreEach(count: run.count) { i in
                            UnsafeRawBufferPointer(rebasing: values[batch.records[run.lowerBound + i].value])
                        }
                    }
                }
                output.write((batch, results.flatMap { $0 }))
            }
        } catch {
            _ = loadedScorer.take()  // the rules loaded (or their error reported and the process gone) first
            formatter?.flush()  // the rows scored before the error, then the error
            Terminal.flush()
            Terminal.error("urgencyiq score: \(error)")
            return 2
        }
        formatter?.flush(done: true)
        Terminal.flush()
        return (formatter?.failures ?? 0) == 0 ? 0 : 1
    }
}
