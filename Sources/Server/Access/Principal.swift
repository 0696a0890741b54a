/// Who is calling: the name the audit trail records, the role that decides what they may do, and how they
/// proved it.
public struct Principal: Sendable, Equatable {
    public enum Credential: Sendable, Equatable {
        /// A stored API key (its id and SHA-256): the name is the agent's, and replies and assignments are made in it.
        case key(id: Int64, hash: String)
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
    public var isNamedAgent: Bool { keyID != nil }

    /// The id of the API key this caller used, if any (the audit trail records it).
    public var keyID: Int64? {
        if case .key(let id, _) = credential { return id }
        return nil
    }

    /// The SHA-256 of the API key this caller used, if any (an event stream opened with it ends when it is revoked).
    public var keyHash: String? {
        if case .key(_, let hash) = credential { return hash }
        return nil
    }

    /// The name the audit trail records for callers without a key.
    public static let adminTokenName = "admin-token"
    public static let loopbackName = "loopback"
    public static let anonymousName = "anonymous"
}
