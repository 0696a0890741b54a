import Foundation
import RulesEngine

/// `urgencyiq bench`: how many messages per second one thread scores with the rules.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench",
        synopsis: "bench [--rules DIR] [--messages N] [--runs N]",
        summary: "Measure single-thread scoring throughput on a generated corpus; prints the median of the runs.",
        options: [
            RulesOptions.option,
            .init(names: ["--messages"], valueName: "N", help: "messages per run (default 200000)"),
            .init(names: ["--runs"], valueName: "N", help: "runs; the median is reported (default 5)"),
            .init(names: ["--print-corpus"], help: "print the corpus (one message per line) and exit"),
            .init(names: ["--mode"], valueName: "MODE",
                  help: "score (urgency only), explain (with the breakdown) or both (default)"),
        ],
        details: "The corpus is synthetic support messages generated from the project's own phrase lists.")

    static func run(_ arguments: ParsedArguments) -> Int32 {
        let count: Int
        let runs: Int
        do {
            count = try arguments.integer("--messages", default: 200_000, in: 1...100_000_000)
            runs = try arguments.integer("--runs", default: 5, in: 1...100)
        } catch {
            Terminal.error("urgencyiq bench: \(error.message)")
            return 2
        }
        let corpus = BenchCorpus.generate(count: min(count, 20_000), seed: 20_261_125)
        if arguments.flag("--print-corpus") {
            for message in corpus { Terminal.write(message + "\n") }
            return 0
        }
        let scorer = RulesOptions.loadScorer(arguments, log: DiscardingLogSink())
        let bytes = corpus.reduce(0) { $0 + $1.utf8.count }
        Terminal.write("corpus: \(corpus.count) distinct messages, mean \(bytes / corpus.count) bytes; rules \(scorer.rulesVersion)\n")
        let modes: [Bool]
        switch arguments.value("--mode") ?? "both" {
        case "score": modes = [false]
        case "explain": modes = [true]
        case "both": modes = [false, true]
        case let other:
            Terminal.error("urgencyiq bench: --mode must be score, explain or both, got '\(other)'")
            return 2
        }
        for explain in modes {
            var rates: [Double] = []
            var checksum = 0.0
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                for i in 0..<count {
                    let input = ScoringInput(text: corpus[i % corpus.count], customerID: Int64(i))
                    if let score = try? scorer.score(input, options: ScoringOptions(explain: explain)) {
                        checksum += score.value
                    }
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                rates.append(Double(count) / seconds)
            }
            rates.sort()
            let median = rates[rates.count / 2]
            let label = explain ? "score + breakdown" : "score only       "
            Terminal.write("\(label): median \(Int(median)) messages/s over \(runs) runs of \(count) "
                + "(min \(Int(rates.first!)), max \(Int(rates.last!))); \(String(format: "%.2f", 1e6 / median)) µs/message; "
                + "checksum \(JSONValue.format(number: checksum))\n")
            Terminal.flush()
        }
        return 0
    }
}
