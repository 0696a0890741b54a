import Foundation
import Server
import Support

/// `urgencyiq keys`: create, list and revoke API keys in the store (SQLite, or PostgreSQL with DATABASE_URL): how
/// an operator makes the first admin key before serving a network address, and how any key is managed without the
/// API. Each change is in the audit trail as `cli:USER`.
enum KeysCommand {
    static let spec = CommandSpec(
        name: "keys",
        synopsis: "keys create --name NAME --role read|agent|admin [--expires 90d] | keys list | keys revoke NAME   [--db PATH] [--env-file PATH]",
        summary: "Create, list and revoke API keys (only their SHA-256 is stored; a new key is printed once).",
        options: [
            .init(names: ["--name"], valueName: "NAME", help: "the key's holder: the agent name replies and assignments are made in"),
            .init(names: ["--role"], valueName: "ROLE", help: "read (list, show, customers, events), agent (also send, reply, assign, resolve) or admin (everything)"),
            .init(names: ["--expires"], valueName: "DURATION", help: "the key stops working after this long: 90d, 12h, 30m or 45s (default: never)"),
            .init(names: ["--json"], help: "print JSON instead of text"),
            ServerCommandSupport.databaseOption,
            ServerCommandSupport.envFileOption,
        ],
        details: "create prints the key alone on standard output (the only time it is shown) and what it is on standard error.\n"
            + "Running servers see a new or revoked key at their next request, on every server of a fleet.\n"
            + "Exit status: 0 done, 1 the store failed or the name is taken or unknown, 2 usage error.")

    static func run(_ arguments: ParsedArguments) -> Int32 {
        guard let verb = arguments.positionals.first, ["create", "list", "revoke"].contains(verb) else {
            Terminal.error("urgencyiq keys: expected create, list or revoke")
            return 2
        }
        let expectedPositionals = verb == "revoke" ? 2 : 1
        guard arguments.positionals.count == expectedPositionals else {
            Terminal.error(verb == "revoke" ? "urgencyiq keys revoke: expected one NAME" : "urgencyiq keys \(verb): unexpected argument '\(arguments.positionals.last ?? "")'")
            return 2
        }
        var createOptions: (name: String, role: Role, expires: Double?)?
        if verb == "create" {
            guard let name = arguments.value("--name") else { return usage("keys create needs --name NAME") }
            if let problem = NewAPIKey.nameProblem(name) { return usage(problem) }
            guard let role = arguments.value("--role").flatMap(Role.init(rawValue:)) else { return usage("keys create needs --role read, agent or admin") }
            var expires: Double?
            if let text = arguments.value("--expires") {
                guard let seconds = NewAPIKey.duration(text) else { return usage("--expires must be like 90d, 12h, 30m or 45s (at most 10 years)") }
                expires = seconds
            }
            createOptions = (name, role, expires)
        }
        guard let (_, store) = ServerCommandSupport.openStore(arguments, command: "keys") else { return 1 }
        defer { store.close() }
        let actor = "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? NSUserName())
        let now = Timestamp.now()
        do {
            switch verb {
            case "create":
                guard let options = createOptions else { return 2 }
                let secret = APIKeySecret()
                let key = NewAPIKey(secret: secret, name: options.name, role: options.role, createdAt: now, createdBy: actor,
                                    validity: options.expires)
                let audit = AuditEntry(at: now, actor: actor, role: Role.admin.rawValue, address: "cli", action: "key.create",
                                       detail: key.auditDetail)
                switch try store.createAPIKey(key, audit: audit) {
                case .nameTaken:
                    Terminal.error("urgencyiq keys create: an active key is named \(options.name) already: revoke it first or pick another name")
                    return 1
                case .created(let record):
                    if arguments.flag("--json") {
                        var object = record.json(at: now)
                        object["key"] = .string(secret.key)
                        Terminal.write(JSONValue.object(object).jsonText + "\n")
                    } else {
                        Terminal.write(secret.key + "\n")
                    }
                    Terminal.error("created \(record.role.rawValue) key \(record.prefix)… for \(record.name)"
                        + (key.expiresAt.map { ", valid until \($0.isoformat) UTC" } ?? "") + ": store it now, it is not shown again")
                }
            case "list":
                let keys = try store.apiKeys()
                if arguments.flag("--json") {
                    Terminal.write(JSONValue.array(keys.map { .object($0.json(at: now)) }).jsonText + "\n")
                } else {
                    Terminal.write(table(keys, now: now))
                }
            default:
                let name = arguments.positionals[1]
                let audit = AuditEntry(at: now, actor: actor, role: Role.admin.rawValue, address: "cli", action: "key.revoke",
                                       detail: ["name": .string(name)])
                let revoked = try store.revokeAPIKeys(named: name, at: now, audit: audit)
                guard revoked > 0 else {
                    Terminal.error("urgencyiq keys revoke: no active key named \(name)")
                    return 1
                }
                Terminal.error("revoked \(revoked) key\(revoked == 1 ? "" : "s") of \(name)")
            }
        } catch {
            Terminal.error("urgencyiq keys \(verb): \(error)")
            return 1
        }
        return 0
    }

    private static func usage(_ message: String) -> Int32 {
        Terminal.error("urgencyiq keys: \(message)\nRun 'urgencyiq keys --help' for usage.")
        return 2
    }

    /// The keys as an aligned text table.
    private static func table(_ keys: [APIKeyRecord], now: Timestamp) -> String {
        let header = ["NAME", "ROLE", "KEY", "STATUS", "CREATED", "EXPIRES", "CREATED BY"]
        let rows = keys.map { key in
            [key.name, key.role.rawValue, key.prefix + "…", key.status(at: now), String(key.createdAt.isoformat.prefix(19)),
             key.expiresAt.map { String($0.isoformat.prefix(19)) } ?? "never", key.createdBy]
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
