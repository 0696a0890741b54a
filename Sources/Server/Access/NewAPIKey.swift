import Support

/// A key to store: its record's fields before the store numbers it.
public struct NewAPIKey: Sendable, Equatable {
    public var name: String
    public var role: Role
    public var hash: String
    public var prefix: String
    public var createdAt: Timestamp
    public var createdBy: String
    public var expiresAt: Timestamp?

    public init(name: String, role: Role, hash: String, prefix: String, createdAt: Timestamp, createdBy: String, expiresAt: Timestamp?) {
        self.name = name
        self.role = role
        self.hash = hash
        self.prefix = prefix
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.expiresAt = expiresAt
    }

    /// The key to store for `secret`: its hash and prefix; valid for `validity` seconds from `createdAt`, or for ever.
    public init(secret: APIKeySecret, name: String, role: Role, createdAt: Timestamp, createdBy: String, validity: Double? = nil) {
        self.init(name: name, role: role, hash: APIKeySecret.hash(secret.key), prefix: secret.displayPrefix, createdAt: createdAt,
                  createdBy: createdBy,
                  expiresAt: validity.map { Timestamp(microseconds: createdAt.microseconds + Int64($0 * 1e6)) })
    }

    /// What the audit trail keeps of its creation.
    public var auditDetail: JSONValue {
        ["name": .string(name), "role": .string(role.rawValue), "expires_at": expiresAt.map { .string($0.isoformat) } ?? .null]
    }

    /// Names the audit trail gives callers without a key: no key may take them.
    public static let reservedNames: Set<String> = [Principal.loopbackName, Principal.adminTokenName, Principal.anonymousName]

    /// Key names are agent names that also go in paths (`DELETE /api/keys/{name}`): 1 to 64 of the bytes a path's
    /// `{name}` may hold (letters, digits, `.`, `_` and `-`), not starting with a dot, and none of the reserved names.
    /// nil when `name` is one, else why not.
    public static func nameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 64 else { return "a key name must have 1 to 64 characters" }
        guard !reservedNames.contains(name) else { return "\(name) is reserved for callers without a key" }
        guard name.first != ".", name.utf8.allSatisfy(Route.isFileNameByte) else {
            return "a key name may hold letters, digits, '.', '_' and '-' only, and must not start with a dot"
        }
        return nil
    }

    /// A validity like `90d`, `12h`, `30m` or `45s` in seconds; nil when it is not one (at most 10 years).
    public static func duration(_ text: String) -> Double? {
        guard let unit = text.last, text.utf8.count >= 2, text.utf8.count <= 12,
              text.utf8.dropLast().allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let count = Double(text.dropLast()), count > 0 else { return nil }
        let seconds: Double
        switch unit {
        case "d": seconds = count * 86_400
        case "h": seconds = count * 3_600
        case "m": seconds = count * 60
        case "s": seconds = count
        default: return nil
        }
        return seconds <= 10 * 366 * 86_400 ? seconds : nil
    }
}
