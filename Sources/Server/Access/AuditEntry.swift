import Support

/// One state change in the audit trail: who made it (a key's name, `admin-token`, `loopback` or `cli:USER`), with
/// which role, when, from which address, what it was, on which message, with what details. Append only.
public struct AuditEntry: Sendable, Equatable {
    /// Assigned by the store (0 before).
    public var id: Int64
    public var at: Timestamp
    public var actor: String
    public var role: String
    public var address: String
    /// `message.reply`, `message.assign`, `message.unassign`, `message.resolve`, `rules.reload`, `rules.deploy`,
    /// `llm.toggle`, `admin.seed`, `admin.rescore`, `webhook.retry`, `key.create`, `key.revoke`.
    public var action: String
    public var messageID: Int64?
    /// Details as JSON text (the agent, the rules version, the key's name …), or nil.
    public var detail: String?
    /// The API key the actor used (a name can belong to another key after a revocation), or nil.
    public var keyID: Int64?

    public init(id: Int64 = 0, at: Timestamp, actor: String, role: String, address: String, action: String,
                messageID: Int64? = nil, detail: JSONValue? = nil, keyID: Int64? = nil) {
        self.id = id
        self.at = at
        self.actor = actor
        self.role = role
        self.address = address
        self.action = action
        self.messageID = messageID
        self.detail = detail?.jsonText
        self.keyID = keyID
    }

    /// The entry as the API shows it; the address only to admins.
    public func json(withAddress: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .integer(id), "at": .string(at.isoformat), "actor": .string(actor), "role": .string(role),
            "action": .string(action), "message_id": messageID.map { .integer($0) } ?? .null,
            "detail": detail.flatMap { try? JSONParser.parse(Array($0.utf8)) } ?? .null,
            "key_id": keyID.map { .integer($0) } ?? .null,
        ]
        if withAddress { object["address"] = .string(address) }
        return .object(object)
    }
}

/// Which audit entries to read: newest first, before an id (the cursor), optionally for one message, actor or
/// action.
public struct AuditQuery: Sendable, Equatable {
    public var before: Int64?
    public var limit: Int
    public var messageID: Int64?
    public var actor: String?
    public var action: String?

    public init(before: Int64? = nil, limit: Int = 50, messageID: Int64? = nil, actor: String? = nil, action: String? = nil) {
        self.before = before
        self.limit = limit
        self.messageID = messageID
        self.actor = actor
        self.action = action
    }
}
