import Foundation
import RulesEngine
import Server

/// `urgencyiq serve`: the REST API.
enum ServeCommand {
    static let spec = CommandSpec(
        name: "serve",
        synopsis: "serve [--host HOST] [--port PORT] [--db PATH] [--rules DIR] [--gate DIR] [--log-format text|json|off] [--watch-poll SECONDS] [--no-watch] [--reuse-port] [--no-auth] [--env-file PATH]\n"
            + "       [--webhook-url URL[,URL…] [--webhook-events TYPES] [--webhook-min-urgency X]]",
        summary: "Run the REST API and the web console (libmicrohttpd) on the SQLite store, or on PostgreSQL with DATABASE_URL, scoring with the rules.",
        options: [
            .init(names: ["--host"], valueName: "HOST", help: "interface to listen on (default 127.0.0.1; 0.0.0.0 for all)"),
            .init(names: ["--port"], valueName: "PORT", help: "port (default 5000; 0 picks a free one)"),
            ServerCommandSupport.databaseOption,
            RulesOptions.option,
            .init(names: ["--log-format"], valueName: "FORMAT", help: "request log: text (default), json or off"),
            .init(names: ["--gate"], valueName: "DIR", help: "fixtures a changed rule set must pass before it goes live"),
            .init(names: ["--watch-poll"], valueName: "SECONDS",
                  help: "also compare the rules files this often (for mounts that deliver no file events)"),
            .init(names: ["--no-watch"], help: "do not reload when the rules files change (SIGHUP and the API still do)"),
            .init(names: ["--webhook-url"], valueName: "URL[,URL…]", help: "POST events there, signed with WEBHOOK_SECRET (environment or .env only: a flag would show it in ps)"),
            .init(names: ["--webhook-events"], valueName: "TYPES", help: "event types to send, comma-separated (WEBHOOK_EVENTS; default all)"),
            .init(names: ["--webhook-min-urgency"], valueName: "X", help: "message.created only at or above X (WEBHOOK_MIN_URGENCY)"),
            .init(names: ["--reuse-port"], help: "share the port with other servers (SO_REUSEPORT), e.g. to start a new one before stopping the old"),
            .init(names: ["--no-auth"], help: "serve without API keys, on purpose (AUTH=off): without this, a key or ADMIN_TOKEN, a network address is refused"),
            ServerCommandSupport.envFileOption,
        ],
        details: "Environment variables (flags win, then the environment, then the .env file):\n"
            + ServerConfiguration.variables.map { "  " + $0.name.padding(toLength: 26, withPad: " ", startingAt: 0) + $0.meaning }
            .joined(separator: "\n")
            + "\nSIGINT or SIGTERM stops it gracefully: no new connections, requests in flight finish, the database closes.")

    static func run(_ arguments: ParsedArguments) -> Int32 {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerCommandSupport.configuration(arguments)
        } catch {
            Terminal.error("urgencyiq serve: \(error)")
            return 2
        }
        // Block the signals in every thread before any starts; this thread waits for them below.
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let server: UrgencyIQServer
        do {
            server = try UrgencyIQServer(configuration: configuration)
        } catch {
            Terminal.error("urgencyiq serve: \(error)")
            return 1
        }
        let database: String = switch configuration.database {
        case .sqlite(let path): path
        case .postgres: "PostgreSQL"
        }
        Terminal.error("urgencyiq: serving on http://\(configuration.http.host):\(server.port) (rules \(server.rules.scorer.rulesVersion), "
            + "database \(database), LLM \(server.scoring.llm.isEnabled ? "on" : "off"): "
            + (configuration.llm.hasKey ? "\(configuration.llm.completionsURL)" : "no key configured, keyword scores only") + ")")
        while true {
            var received: Int32 = 0
            sigwait(&signals, &received)
            if received == SIGHUP {
                server.reloadRules(trigger: .signal)  // the reloader logs the outcome
                continue
            }
            Terminal.error("urgencyiq: stopping (signal \(received)): finishing requests in flight")
            server.shutdown()
            Terminal.error("urgencyiq: stopped")
            return 0
        }
    }
}
