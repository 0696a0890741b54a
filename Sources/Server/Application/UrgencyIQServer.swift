import Foundation
import RulesEngine

/// Why the server did not start.
public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The running service: the store, the active rules, the API and the HTTP daemon, wired from a configuration.
public final class UrgencyIQServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    public let store: any Store
    public let rules: ActiveRules
    public let context: APIContext
    private let daemon: HTTPDaemon

    /// Opens the store, loads the rules and starts listening.
    public init(configuration: ServerConfiguration, ruleLog: any RuleLogSink = StandardErrorLogSink()) throws(ServerStartError) {
        self.configuration = configuration
        do {
            store = try UrgencyIQServer.openStore(configuration)
        } catch {
            throw ServerStartError(message: "cannot open the database: \(error)")
        }
        do {
            rules = ActiveRules(try Scorer(rulesDirectory: configuration.rulesDirectory, limits: configuration.engineLimits,
                                           log: ruleLog))
        } catch {
            store.close()
            throw ServerStartError(message: "cannot load the rules in \(configuration.rulesDirectory): \(error)")
        }
        let toggle: LLMToggle
        do {
            toggle = try LLMToggle(store: store, initial: configuration.useLLMByDefault)
        } catch {
            store.close()
            throw ServerStartError(message: "cannot read the LLM setting: \(error)")
        }
        context = APIContext(store: store, rules: rules, llm: toggle, limits: configuration.limits,
                             seedFile: configuration.seedFile, workerThreads: configuration.http.workerThreads,
                             workerQueue: configuration.http.workerQueue)
        let handler = APIHandler(context: context, cors: configuration.cors, admin: AdminAccess(token: configuration.adminToken),
                                 logger: RequestLogger(format: configuration.logFormat))
        do {
            daemon = try HTTPDaemon(options: configuration.http, handler: handler)
        } catch {
            context.stop()
            store.close()
            throw ServerStartError(message: error.message)
        }
    }

    /// Opens the configured store.
    public static func openStore(_ configuration: ServerConfiguration) throws -> any Store {
        switch configuration.database {
        case .sqlite(let path):
            return try SQLiteStore(path: path, synchronous: configuration.sqliteSynchronous)
        case .postgres:
            throw StoreError("PostgreSQL is not available in this build")
        }
    }

    /// The port the server listens on.
    public var port: UInt16 { daemon.port }

    /// Stops accepting, lets requests in flight finish (up to `timeout` seconds), closes the store.
    public func shutdown(timeout: Double = 30) {
        daemon.shutdown(timeout: timeout)
        context.stop()
        store.close()
    }
}
