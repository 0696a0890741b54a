import Foundation
import RulesEngine
import Server

/// Configuration shared by the commands that open the store.
enum ServerCommandSupport {
    static let databaseOption = CommandSpec.Option(names: ["--db"], valueName: "PATH",
                                                   help: "SQLite database file (default instance/urgencyiq.db); DATABASE_URL=postgresql://… selects PostgreSQL instead")
    static let envFileOption = CommandSpec.Option(names: ["--env-file"], valueName: "PATH",
                                                  help: "variables file (default .env, when present)")

    static func configuration(_ arguments: ParsedArguments) throws -> ServerConfiguration {
        var flags: [String: String] = [:]
        for name in ["host", "port", "db", "rules", "log-format", "gate", "watch-poll", "webhook-url", "webhook-events",
                     "webhook-min-urgency"] {
            if let value = arguments.value("--" + name) { flags[name] = value }
        }
        var configuration = try ServerConfiguration.load(flags: flags, environment: ProcessInfo.processInfo.environment,
                                                         envFile: arguments.value("--env-file") ?? ".env")
        if arguments.flag("--no-watch") { configuration.watchRules = false }
        if arguments.flag("--reuse-port") { configuration.http.reusePort = true }
        if arguments.flag("--no-auth") {
            guard configuration.auth != .required else { throw ConfigurationError(message: "--no-auth contradicts AUTH=required") }
            configuration.auth = .off
        }
        return configuration
    }

    /// The configuration and the opened store for a command that works on the database (`import`, `rescore`);
    /// nil after printing why, when either fails.
    static func openStore(_ arguments: ParsedArguments, command: String) -> (configuration: ServerConfiguration, store: any Store)? {
        do {
            let configuration = try configuration(arguments)
            return (configuration, try UrgencyIQServer.openStore(configuration))
        } catch {
            Terminal.error("urgencyiq \(command): \(error)")
            return nil
        }
    }

    /// What `import` and `rescore` work with: the configured store (to close when done), the configured rules,
    /// and how to score in bulk; nil after printing why, when the store cannot be opened. (Rules that do not
    /// load end the process with status 2 and the rule error.)
    static func openBatchJob(_ arguments: ParsedArguments, command: String)
        -> (store: any Store, rules: ActiveRules, options: ScoringOptions, concurrency: Int)? {
        guard let (configuration, store) = openStore(arguments, command: command) else { return nil }
        let scorer = RulesOptions.loadScorer(directory: configuration.rulesDirectory, log: StandardErrorLogSink(minimumLevel: .warn))
        let scoring = batchScoring(configuration, store: store)
        return (store, ActiveRules(scorer), scoring.options, scoring.concurrency)
    }

    /// How `import` and `rescore` score: the stored LLM toggle, through the configured LLM endpoint, on as
    /// many threads as the LLM may take calls when a model may be called.
    static func batchScoring(_ configuration: ServerConfiguration, store: any Store) -> (options: ScoringOptions, concurrency: Int) {
        let enabled = (try? LLMToggle(store: store, initial: configuration.useLLMByDefault).isEnabled) ?? false
        let client = OpenAICompatibleClient(configuration: configuration.llm)
        let mayBlock = enabled && configuration.llm.hasKey
        if mayBlock {
            Terminal.error("LLM step on: calling \(configuration.llm.completionsURL), at most \(configuration.llm.maximumConcurrency) calls at once")
        }
        return (ScoringOptions(explain: true, llmEnabled: enabled, llm: .live(client)),
                mayBlock ? configuration.llm.maximumConcurrency : 1)
    }
}
