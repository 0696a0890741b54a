import Foundation
import RulesEngine
import Server
import Support

/// `urgencyiq check`: regression-test the rules against golden fixtures, and show what a rule change moves.
enum CheckCommand {
    static let spec = CommandSpec(
        name: "check",
        synopsis: "check [--rules DIR] [--format text|json|junit] [--tag TAG] [--grep TEXT] [-v] [--coverage]\n"
            + "       [--min-pairwise X] [--min-exact X] [--max-mae X] [--expected-column NAME] [--live-llm]\n"
            + "       [--diff OLD_RULES_DIR [--messages FILE.csv [--column NAME]]] [FILE_OR_DIR ...]",
        summary: "Score golden fixtures and labelled sets (default data/golden and data/labelled): every fixture the "
            + "rules get wrong, and how well they order the labelled messages.",
        options: [
            RulesOptions.option,
            .init(names: ["--format"], valueName: "FORMAT", help: "text (default), json, or junit (JUnit XML for CI)"),
            .init(names: ["--tag"], valueName: "TAG", help: "only fixtures with this tag (repeatable: any of them)", repeatable: true),
            .init(names: ["--grep"], valueName: "TEXT", help: "only fixtures whose message, id or note contains TEXT"),
            .init(names: ["-v", "--verbose"], help: "list passing fixtures too"),
            .init(names: ["--diff"], valueName: "OLD_RULES_DIR",
                  help: "also score everything with OLD_RULES_DIR and list what changes"),
            .init(names: ["--messages"], valueName: "FILE", help: "with --diff: a CSV of messages (a production export) to compare too"),
            .init(names: ["--column"], valueName: "NAME", help: "the message column of --messages (default: message, or the seed's Message Body)"),
            .init(names: ["--expected-column"], valueName: "NAME", help: "read expectations from NAME instead of expected"),
            .init(names: ["--coverage"], help: "how many fixtures each rule (tier keyword, modifier, intent…) fired on, and the ones that never fire"),
            .init(names: ["--min-pairwise"], valueName: "X", help: "fail (exit 1) when a labelled set's pairwise order is below X"),
            .init(names: ["--min-exact"], valueName: "X", help: "fail when the share of exact levels is below X"),
            .init(names: ["--max-mae"], valueName: "X", help: "fail when the mean absolute error is above X"),
            .init(names: ["--live-llm"],
                  help: "call the configured model (LLM_BASE_URL, LLM_API_KEY, …) instead of replaying the llm column"),
        ],
        details: """
        Fixture files are CSV with columns message and expected (a number such as 4.5, or a range such as 3.5..5),
        optionally id, llm (a recorded LLM reply, replayed instead of calling a model), llm_enabled (true/false),
        tags (space-separated) and note. A score passes when, rounded to the expected value's decimals (at
        least one), it equals the expected value, or lies in the range.
        A file with a label column (a person's urgency, 1 to 5; expected then optional) is an accuracy set: check
        prints, for each, `accuracy: n= mae= exact= within1= pairwise=` and the confusion matrix label × rounded
        score. A thresholds.conf beside the files (min_pairwise, min_exact, max_mae) or the flags above make a
        set that falls below them fail the check (and a reload gate refuse the rules).
        Fixtures never call a model unless --live-llm is given; then those with llm_enabled=true do (through the
        same client the server uses: deadline, retries, cache), and the llm column is ignored.
        Exit status: 0 all pass, 1 a fixture fails or accuracy falls below a threshold, 2 the rules or a fixture file
        cannot be loaded.
        """)

    enum Format: String { case text, json, junit }

    static func run(_ arguments: ParsedArguments) -> Int32 {
        guard let format = Format(rawValue: arguments.value("--format") ?? "text") else {
            Terminal.error("urgencyiq check: --format must be text, json or junit")
            return 2
        }
        if arguments.value("--diff") == nil, arguments.value("--messages") != nil {
            Terminal.error("urgencyiq check: --messages needs --diff OLD_RULES_DIR")
            return 2
        }
        if arguments.value("--diff") != nil, format == .junit {
            Terminal.error("urgencyiq check: --diff reports as text or json")
            return 2
        }
        var live: OpenAICompatibleClient?
        if arguments.flag("--live-llm") {
            do {
                let configuration = try ServerConfiguration.load(flags: [:], environment: ProcessInfo.processInfo.environment)
                guard configuration.llm.hasKey else {
                    Terminal.error("urgencyiq check: --live-llm needs LLM_API_KEY (or OPENAI_API_KEY)")
                    return 2
                }
                live = OpenAICompatibleClient(configuration: configuration.llm)
                Terminal.error("check: calling \(configuration.llm.completionsURL) for fixtures with llm_enabled=true")
            } catch {
                Terminal.error("urgencyiq check: \(error)")
                return 2
            }
        }
        let scorer = RulesOptions.loadScorer(arguments, log: DiscardingLogSink())

        var overrides = AccuracyThresholds()
        for (flag, keyPath) in [("--min-pairwise", \AccuracyThresholds.minimumPairwise), ("--min-exact", \.minimumExact),
                                ("--max-mae", \.maximumMAE)] {
            guard let text = arguments.value(flag) else { continue }
            guard let value = Double(text), value >= 0 else {
                Terminal.error("urgencyiq check: \(flag) must be a number, got '\(text)'")
                return 2
            }
            overrides[keyPath: keyPath] = value
        }
        var fixtures: [Fixture]
        do {
            let paths = arguments.positionals.isEmpty ? defaultPaths : arguments.positionals
            let loading = ProgressReporter(label: "loading fixtures")
            fixtures = try FixtureLoader.loadAll(paths, expectedColumn: arguments.value("--expected-column") ?? "expected") {
                loading.update($0)
            }
            loading.finish()
        } catch {
            Terminal.error("urgencyiq check: \(error)")
            return 2
        }
        fixtures = select(fixtures, tags: arguments.all("--tag"), grep: arguments.value("--grep"))

        let coverage = arguments.flag("--coverage")
        let scoring = ProgressReporter(label: "checking", total: fixtures.count)
        let results = FixtureRunner(scorer: scorer, liveLLM: live)
            .run(fixtures, explainPasses: arguments.flag("--verbose") || coverage) { scoring.update($0) }
        scoring.finish()
        let report: CheckReport
        do {
            report = CheckReport(results: results, rulesVersion: scorer.rulesVersion,
                                 accuracy: try AccuracySet.sets(in: results, overrides: overrides))
        } catch {
            Terminal.error("urgencyiq check: \(error)")
            return 2
        }
        var coverageReport: Coverage?
        if coverage {
            do {
                guard let inventory = try scorer.inventory() else {
                    Terminal.error("urgencyiq check: --coverage needs the rules to define inventory() (the names their breakdowns list as fired)")
                    return 2
                }
                coverageReport = Coverage(results: results, inventory: inventory)
            } catch {
                Terminal.error("urgencyiq check: inventory() failed: \(error)")
                return 2
            }
        }

        var diff: RulesDiff?
        var accuracyDiff: AccuracyComparison?
        if let oldDirectory = arguments.value("--diff") {
            do {
                let old = try Scorer(rulesDirectory: oldDirectory, log: DiscardingLogSink())
                let labelled = fixtures.filter { $0.label != nil }
                if !labelled.isEmpty {
                    accuracyDiff = AccuracyComparison(old: FixtureRunner(scorer: old, liveLLM: live).run(labelled),
                                                      new: results.filter { $0.fixture.label != nil })
                }
                var cases = fixtures.map {
                    RulesDiff.Case(source: $0.location, message: $0.message, options: FixtureRunner.options(for: $0, explain: true, live: live))
                }
                if let file = arguments.value("--messages") {
                    cases += try messages(file, column: arguments.value("--column"))
                }
                let comparing = ProgressReporter(label: "comparing", total: cases.count)
                diff = RulesDiff.compare(cases, old: old, new: scorer) { comparing.update($0) }
                comparing.finish()
            } catch let error as RulesError {
                Terminal.error("urgencyiq check: cannot load the old rules in \(oldDirectory): \(error)")
                return 2
            } catch {
                Terminal.error("urgencyiq check: \(error)")
                return 2
            }
        }

        switch format {
        case .text:
            Terminal.write(report.text(verbose: arguments.flag("--verbose")))
            if let coverageReport { Terminal.write("\n" + coverageReport.text()) }
            if let diff { Terminal.write("\n" + diff.text()) }
            if let accuracyDiff { Terminal.write("\n" + accuracyDiff.text()) }
        case .json:
            var json = report.json(verbose: arguments.flag("--verbose"))
            if diff != nil || coverageReport != nil {
                var object: [String: JSONValue] = ["check": json]
                if let diff { object["diff"] = diff.json }
                if let accuracyDiff { object["accuracy_diff"] = accuracyDiff.json }
                if let coverageReport { object["coverage"] = coverageReport.json }
                json = .object(object)
            }
            Terminal.write(json.jsonText + "\n")
        case .junit:
            Terminal.write(report.junit())
        }
        Terminal.flush()
        return report.isPassing ? 0 : 1
    }

    /// What check reads when given no files: the golden fixtures and the labelled sets, where they exist.
    static var defaultPaths: [String] {
        let present = ["data/golden", "data/labelled"].filter { FileManager.default.fileExists(atPath: $0) }
        return present.isEmpty ? ["data/golden"] : present
    }

    /// Fixtures carrying any of `tags` (all when none given) whose message, id or note contains `grep`.
    static func select(_ fixtures: [Fixture], tags: [String], grep: String?) -> [Fixture] {
        fixtures.filter { fixture in
            if !tags.isEmpty, !fixture.tags.contains(where: tags.contains) { return false }
            guard let grep, !grep.isEmpty else { return true }
            return [fixture.message, fixture.id ?? "", fixture.note ?? ""].contains { $0.localizedCaseInsensitiveContains(grep) }
        }
    }

    /// The rows of a message file, as diff cases named `file:line`.
    static func messages(_ file: String, column: String?) throws -> [RulesDiff.Case] {
        let table = try CSVTable(reader: try CSVReader(path: file))
        let index = try table.messageColumn(named: column)
        var cases: [RulesDiff.Case] = []
        while let record = try table.next() {
            let text = index < record.fields.count ? record.fields[index] : ""
            cases.append(RulesDiff.Case(source: "\(file):\(record.line)", message: text, options: ScoringOptions()))
        }
        return cases
    }
}
