import Support

/// A stored API key as the store keeps it: never the key itself, only its SHA-256 and a short prefix to tell
/// keys apart in lists.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: Int64
    /// The agent's name: replies and assignments made with the key are made in it.
    public var name: String
    public var role: Role
    /// SHA-256 of the key, lowercase hex.
    public var hash: String
    /// The key's first characters (`uiq_` and 4 more), enough to recognise it, too few to use it.
    public var prefix: String
    public var createdAt: Timestamp
    /// Who created it (a key's name, `admin-token`, `loopback` or `cli:USER`).
    public var createdBy: String
    public var expiresAt: Timestamp?
    public var revokedAt: Timestamp?

    public init(id: Int64, name: String, role: Role, hash: String, prefix: String, createdAt: Timestamp, createdBy: String,
                expiresAt: Timestamp?, revokedAt: Timestamp?) {
        self.id = id
        self.name = name
        self.role = role
        self.hash = hash
        self.prefix = prefix
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }

    /// A key just stored under `id`.
    init(id: Int64, _ key: NewAPIKey) {
        self.init(id: id, name: key.name, role: key.role, hash: key.hash, prefix: key.prefix, createdAt: key.createdAt,
                  createdBy: key.createdBy, expiresAt: key.expiresAt, revokedAt: nil)
    }

    /// Whether the key lets its holder in at `now`: not revoked, not expired.
    public func isActive(at now: Timestamp) -> Bool {
        revokedAt == nil && (expiresAt.map { $0.microseconds > now.microseconds } ?? true)
    }

    /// `active`, `revoked` or `expired` at `now`.
    public func status(at now: Timestamp) -> String {
        if revokedAt != nil { return "revoked" }
        return isActive(at: now) ? "active" : "expired"
    }

    /// The key as `GET /api/keys` and `keys list` show it: everything but the hash.
    public func json(at now: Timestamp) -> [String: JSONValue] {
        [
            "id": .integer(id), "name": .string(name), "role": .string(role.rawValue), "prefix": .string(prefix),
            "created_at": .string(createdAt.isoformat), "created_by": .string(createdBy),
            "expires_at": expiresAt.map { .string($0.isoformat) } ?? .null,
            "revoked_at": revokedAt.map { .string($0.isoformat) } ?? .null,
            "status": .string(status(at: now)),
        ]
    }
}

/// What creating a key in the store did.
public enum APIKeyCreation: Sendable, Equatable {
    case created(APIKeyRecord)
    /// An active key has that name already (revoke it first, or pick another name).
    case nameTaken
}
