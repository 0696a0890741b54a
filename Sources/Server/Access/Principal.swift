/// Who is calling: the name the audit trail records, the role that decides what they may do, and how they
/// proved it.
public struct Principal: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// A stored API key (its id): the name is the agent's, and replies and assignments are made in it.
        case key(id: Int64)
        /// The `ADMIN_TOKEN` from the environment: an admin without a person's name.
        case adminToken
        /// No credentials, where the server lets that in (loopback without keys, or `--no-auth`).
        case none
    }

    public var name: String
    public var role: Role
    public var credential: Credential

    public init(name: String, role: Role, credential: Credential) {
        self.name = name
        self.role = role
        self.credential = credential
    }

    /// Whether the name is a person's, fixed by the key: then `agent_name` in a reply or an assignment is theirs.
    public var isNamedAgent: Bool {
        if case .key = credential { return true }
        return false
    }

    /// The name the audit trail records for callers without a key.
    static let adminTokenName = "admin-token"
    static let loopbackName = "loopback"
    static let anonymousName = "anonymous"
}
