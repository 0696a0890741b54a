import Foundation
import RulesEngine
import Support

/// `urgencyiq bench`: how many messages per second one thread scores with the rules.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench",
        synopsis: "bench [--rules DIR] [--compare OTHER_RULES_DIR] [--messages N] [--runs N] [--mode score|explain|both|cores]\n"
            + "       urgencyiq bench [--print-corpus] | [--startup] | [--fixtures N] | [--reload [--gate DIR]]",
        summary: "Measure single-thread scoring throughput on a generated corpus; prints the median of the runs.",
        options: [
            RulesOptions.option,
            .init(names: ["--messages"], valueName: "N", help: "messages per run (default 200000)"),
            .init(names: ["--runs"], valueName: "N", help: "runs; the median is reported (default 5)"),
            .init(names: ["--print-corpus"], help: "print the corpus (one message per line) and exit"),
            .init(names: ["--startup"], help: "instead: time `serve` from launch to its first answered request (median of the runs)"),
            .init(names: ["--fixtures"], valueName: "N",
                  help: "instead: time `check` over N generated fixtures (load the CSV, score, compare)"),
            .init(names: ["--reload"], help: "instead: time a rule file edit until the new version serves (watcher, load, probe, swap)"),
            .init(names: ["--gate"], valueName: "DIR", help: "with --reload: also run these fixtures before activating"),
            .init(names: ["--compare"], valueName: "DIR",
                  help: "also score with these rules, run for run in turn, and print the rate of --rules relative to them"),
            .init(names: ["--mode"], valueName: "MODE",
                  help: "score (urgency only), explain (with the breakdown, written as JSON text the way the stores keep it), "
                      + "both (default), or cores: score only on every "
                      + "core the way bulk scoring does, against one thread in turn"),
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
        if arguments.flag("--startup") { return StartupBenchmark.run(runs: runs) }
        if arguments.flag("--reload") {
            return ReloadBenchmark.run(rulesDirectory: RulesOptions.directory(arguments), gate: arguments.value("--gate"), runs: runs)
        }
        let corpus = BenchCorpus.generate(count: min(count, 20_000), seed: 20_261_125)
        if arguments.flag("--print-corpus") {
            for message in corpus { Terminal.write(message + "\n") }
            return 0
        }
        let scorer = RulesOptions.loadScorer(arguments, log: DiscardingLogSink())
        if arguments.value("--fixtures") != nil {
            do {
                let fixtures = try arguments.integer("--fixtures", default: 100_000, in: 1...10_000_000)
                return benchCheck(fixtures: fixtures, runs: runs, corpus: corpus, scorer: scorer)
            } catch {
                Terminal.error("urgencyiq bench: \(error.message)")
                return 2
            }
        }
        let bytes = corpus.reduce(0) { $0 + $1.utf8.count }
        Terminal.write("corpus: \(corpus.count) distinct messages, mean \(bytes / corpus.count) bytes; rules \(scorer.rulesVersion)\n")
        let modes: [Bool]
        switch arguments.value("--mode") ?? "both" {
        case "score": modes = [false]
        case "explain": modes = [true]
        case "both": modes = [false, true]
        case "cores": return benchCores(scorer, corpus: corpus, count: count, runs: runs)
        case let other:
            Terminal.error("urgencyiq bench: --mode must be score, explain, both or cores, got '\(other)'")
            return 2
        }
        var reference: Scorer?
        if let other = arguments.value("--compare") {
            do {
                reference = try Scorer(rulesDirectory: other, log: DiscardingLogSink())
                Terminal.write("compared with: \(other) (rules \(reference!.rulesVersion)), run for run in turn\n")
            } catch {
                Terminal.error("urgencyiq bench: cannot load the rules in \(other): \(error)")
                return 2
            }
        }
        for explain in modes {
            var rates: [Double] = [], referenceRates: [Double] = []
            var checksum = 0.0, referenceChecksum = 0.0, storedBytes = 0
            for _ in 0..<runs {
                let run = measure(scorer, corpus: corpus, count: count, explain: explain, checksum: &checksum)
                rates.append(run.rate)
                storedBytes += run.storedBytes
                if let reference {
                    referenceRates.append(measure(reference, corpus: corpus, count: count, explain: explain,
                                                  checksum: &referenceChecksum).rate)
                }
            }
            let label = explain ? "score + breakdown" : "score only       "
            let median = report(label, rates: rates, runs: runs, count: count, checksum: checksum)
            if explain { Terminal.write("  (the breakdown as stored: JSON text, \(storedBytes / (runs * count)) bytes a message)\n") }
            if reference != nil {
                let referenceMedian = report("  compared with  ", rates: referenceRates, runs: runs, count: count, checksum: referenceChecksum)
                Terminal.write("  ratio: \(String(format: "%.2f", median / referenceMedian)) of the compared rules' rate\n")
            }
            Terminal.flush()
        }
        return 0
    }

    /// Messages per second of one run of `count` messages. With `explain`, each breakdown is written as the
    /// stores keep it (its JSON text), and `storedBytes` are that text's bytes.
    private static func measure(_ scorer: Scorer, corpus: [String], count: Int, explain: Bool,
                                checksum: inout Double) -> (rate: Double, storedBytes: Int) {
        var storedBytes = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<count {
            let input = ScoringInput(text: corpus[i % corpus.count], customerID: Int64(i))
            if let score = try? scorer.score(input, options: ScoringOptions(explain: explain)) {
                checksum += score.value
                if let breakdown = score.breakdown { storedBytes += breakdown.jsonText.utf8.count }
            }
        }
        return (Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9), storedBytes)
    }

    /// Score-only on every core, in runs of 256 messages (what `score --csv` does), against one thread, run for
    /// run in turn: the rates and how the cores scale.
    private static func benchCores(_ scorer: Scorer, corpus: [String], count: Int, runs: Int) -> Int32 {
        let inputs = (0..<count).map { ScoringInput(text: corpus[$0 % corpus.count], customerID: Int64($0)) }
        let chunks = stride(from: 0, to: count, by: 256).map { Array(inputs[$0..<min(count, $0 + 256)]) }
        var parallelRates: [Double] = [], serialRates: [Double] = []
        var checksum = 0.0, serialChecksum = 0.0
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            let results = parallelMap(chunks, .cores(chunk: 1)) { chunk in scorer.scoreEach(chunk) }
            parallelRates.append(Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            for chunk in results { for case .success(let value) in chunk { checksum += value } }
            serialRates.append(measure(scorer, corpus: corpus, count: count, explain: false, checksum: &serialChecksum).rate)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let parallel = report("score only, \(cores) cores", rates: parallelRates, runs: runs, count: count, checksum: checksum)
        let serial = report("score only, 1 thread ", rates: serialRates, runs: runs, count: count, checksum: serialChecksum)
        Terminal.write("  the cores give \(String(format: "%.2f", parallel / serial))× one thread's rate\n")
        Terminal.flush()
        return 0
    }

    /// Prints the median of `rates` (and min, max); returns the median.
    private static func report(_ label: String, rates: [Double], runs: Int, count: Int, checksum: Double) -> Double {
        let sorted = rates.sorted()
        let median = sorted[sorted.count / 2]
        Terminal.write("\(label): median \(Int(median)) messages/s over \(runs) runs of \(count) "
            + "(min \(Int(sorted.first!)), max \(Int(sorted.last!))); \(String(format: "%.2f", 1e6 / median)) µs/message; "
            + "checksum \(JSONValue.format(number: checksum))\n")
        return median
    }

    /// Writes `count` fixtures (the corpus, expected = what the rules give today) to a temporary CSV file, then
    /// times what `urgencyiq check FILE` does: parse the file, score every fixture, compare.
    private static func benchCheck(fixtures count: Int, runs: Int, corpus: [String], scorer: Scorer) -> Int32 {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-bench-fixtures-\(getpid()).csv").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var text = "id,message,expected,tags\n"
        for i in 0..<count {
            let message = corpus[i % corpus.count]
            let expected = (try? scorer.score(ScoringInput(text: message), options: ScoringOptions(explain: false)).value) ?? 1
            text += CSVWriter().line(["bench-\(i)", message, JSONValue.format(number: expected), "bench"])
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            Terminal.error("urgencyiq bench: cannot write \(path)")
            return 2
        }
        Terminal.write("fixtures: \(count) in \(path) (\(text.utf8.count / 1024) KiB)\n")
        var times: [Double] = []
        var passed = 0
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            guard let fixtures = try? FixtureLoader.load(path) else {
                Terminal.error("urgencyiq bench: cannot read the generated fixtures")
                return 2
            }
            let results = FixtureRunner(scorer: scorer).run(fixtures)
            passed = results.count(where: \.passed)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        Terminal.write("check: median \(String(format: "%.3f", times[times.count / 2])) s for \(count) fixtures over \(runs) runs "
            + "(min \(String(format: "%.3f", times.first!)), max \(String(format: "%.3f", times.last!))); \(passed) passed\n")
        return 0
    }
}
