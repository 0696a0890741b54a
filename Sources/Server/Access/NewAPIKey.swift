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

    /// Names the audit trail gives callers without a key: no key may take them.
    public static let reservedNames: Set<String> = [Principal.loopbackName, Principal.adminTokenName, Principal.anonymousName]

    /// Key names are agent names that also go in paths (`DELETE /api/keys/{name}`): 1 to 64 letters, digits,
    /// `.`, `_` and `-`, not starting with a dot, and none of the reserved names. nil when `name` is one, else why not.
    public static func nameProblem(_ name: String) -> String? {
        guard !name.isEmpty, name.utf8.count <= 64 else { return "a key name must have 1 to 64 characters" }
        guard !reservedNames.contains(name) else { return "\(name) is reserved for callers without a key" }
        guard name.first != ".", name.utf8.allSatisfy({ byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F || byte == 0x2E
        }) else { return "a key name may hold letters, digits, '.', '_' and '-' only, and must not start with a dot" }
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
