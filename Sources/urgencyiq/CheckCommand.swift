import Foundation
import RulesEngine
import Server

/// `urgencyiq check`: regression-test the rules against golden fixtures, and show what a rule change moves.
enum CheckCommand {
    static let spec = CommandSpec(
        name: "check",
        synopsis: "check [--rules DIR] [--format text|json|junit] [--tag TAG] [--grep TEXT] [-v]\n"
            + "       [--diff OLD_RULES_DIR [--messages FILE.csv [--column NAME]]] [FILE_OR_DIR ...]",
        summary: "Score golden fixtures (default data/golden) and report every one the rules get wrong.",
        options: [
            RulesOptions.option,
            .init(names: ["--format"], valueName: "FORMAT", help: "text (default), json, or junit (JUnit XML for CI)"),
            .init(names: ["--tag"], valueName: "TAG", help: "only fixtures with this tag (repeatable: any of them)", repeatable: true),
            .init(names: ["--grep"], valueName: "TEXT", help: "only fixtures whose message, id or note contains TEXT"),
            .init(names: ["-v", "--verbose"], help: "list passing fixtures too"),
            .init(names: ["--diff"], valueName: "OLD_RULES_DIR",
                  help: "also score everything with OLD_RULES_DIR and list what changes"),
            .init(names: ["--messages"], valueName: "FILE", help: "with --diff: a CSV of messages (a production export) to compare too"),
            .init(names: ["--column"], valueName: "NAME", help: "the message column of --messages (default message)"),
            .init(names: ["--expected-column"], valueName: "NAME", help: "read expectations from NAME instead of expected"),
            .init(names: ["--live-llm"],
                  help: "call the configured model (LLM_BASE_URL, LLM_API_KEY, …) instead of replaying the llm column"),
        ],
        details: """
        Fixture files are CSV with columns message and expected (a number such as 4.5, or a range such as 3.5..5),
        optionally id, llm (a recorded LLM reply, replayed instead of calling a model), llm_enabled (true/false),
        tags (space-separated) and note. A score passes when, rounded to the expected value's decimals (at
        least one), it equals the expected value, or lies in the range.
        Fixtures never call a model unless --live-llm is given; then those with llm_enabled=true do (through the
        same client the server uses: deadline, retries, cache), and the llm column is ignored.
        Exit status: 0 all pass, 1 a fixture fails, 2 the rules or a fixture file cannot be loaded.
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

        var fixtures: [Fixture] = []
        do {
            let paths = arguments.positionals.isEmpty ? ["data/golden"] : arguments.positionals
            let loading = ProgressReporter(label: "loading fixtures")
            for file in try FixtureLoader.files(in: paths) {
                let before = fixtures.count
                fixtures += try FixtureLoader.load(file, expectedColumn: arguments.value("--expected-column") ?? "expected") {
                    loading.update(before + $0)
                }
            }
            loading.finish()
        } catch {
            Terminal.error("urgencyiq check: \(error)")
            return 2
        }
        fixtures = select(fixtures, tags: arguments.all("--tag"), grep: arguments.value("--grep"))

        let scoring = ProgressReporter(label: "checking", total: fixtures.count)
        let results = FixtureRunner(scorer: scorer, liveLLM: live).run(fixtures, explainPasses: arguments.flag("--verbose")) { scoring.update($0) }
        scoring.finish()
        let report = CheckReport(results: results, rulesVersion: scorer.rulesVersion)

        var diff: RulesDiff?
        if let oldDirectory = arguments.value("--diff") {
            do {
                let old = try Scorer(rulesDirectory: oldDirectory, log: DiscardingLogSink())
                var cases = fixtures.map {
                    RulesDiff.Case(source: $0.location, message: $0.message, options: FixtureRunner.options(for: $0, explain: true, live: live))
                }
                if let file = arguments.value("--messages") {
                    cases += try messages(file, column: arguments.value("--column") ?? "message")
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
            if let diff { Terminal.write("\n" + diff.text()) }
        case .json:
            let json = diff.map { JSONValue.object(["check": report.json(verbose: arguments.flag("--verbose")), "diff": $0.json]) }
                ?? report.json(verbose: arguments.flag("--verbose"))
            Terminal.write(json.jsonText + "\n")
        case .junit:
            Terminal.write(report.junit())
        }
        Terminal.flush()
        return report.failed == 0 ? 0 : 1
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
    static func messages(_ file: String, column: String) throws -> [RulesDiff.Case] {
        let table = try CSVTable(reader: try CSVReader(path: file))
        let index = try table.require(column)
        var cases: [RulesDiff.Case] = []
        while let record = try table.next() {
            let text = index < record.fields.count ? record.fields[index] : ""
            cases.append(RulesDiff.Case(source: "\(file):\(record.line)", message: text, options: ScoringOptions()))
        }
        return cases
    }
}
