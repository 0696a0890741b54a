import Foundation
import RulesEngine

/// The `--rules DIR` option every scoring command shares, and loading the scorer from it.
enum RulesOptions {
    static let option = CommandSpec.Option(names: ["--rules"], valueName: "DIR",
                                           help: "rules directory (default: $URGENCYIQ_RULES or ./rules)")

    /// The rules directory the arguments (or environment) name.
    static func directory(_ arguments: ParsedArguments) -> String {
        arguments.value("--rules") ?? ProcessInfo.processInfo.environment["URGENCYIQ_RULES"] ?? "rules"
    }

    /// Loads the scorer from the directory the arguments name, or exits with status 2 and the rule error
    /// (file:line: message).
    static func loadScorer(_ arguments: ParsedArguments, log: any RuleLogSink = StandardErrorLogSink()) -> Scorer {
        loadScorer(directory: directory(arguments), log: log)
    }

    /// Loads the scorer from `directory` (for commands that read the server's configuration, `.env` included,
    /// the configured one), or exits with status 2 and the rule error.
    static func loadScorer(directory: String, log: any RuleLogSink = StandardErrorLogSink()) -> Scorer {
        do {
            return try Scorer(rulesDirectory: directory, log: log)
        } catch {
            Terminal.error("urgencyiq: cannot load the rules in \(directory): \(error)")
            exit(2)
        }
    }
}
