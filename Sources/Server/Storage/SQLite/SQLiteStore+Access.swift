import Support

/// API keys and the audit trail on SQLite: changes go through the one writer (so a name is checked and taken in
/// one step), lookups through the readers.
extension SQLiteStore {
    public func createAPIKey(_ key: NewAPIKey, audit: AuditEntry) throws(StoreError) -> APIKeyCreation {
        try writer.perform { connection throws(SQLiteError) in
            var taken = false
            try connection.query("""
                SELECT 1 FROM api_keys WHERE name = ? AND revoked_at IS NULL AND coalesce(expires_at, 9223372036854775807) > ?
                """, [.text(key.name), .integer(key.createdAt.microseconds)]) { _ in taken = true }
            if taken { return .nameTaken }
            try connection.query("""
                INSERT INTO api_keys(name, role, key_hash, key_prefix, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [.text(key.name), .text(key.role.rawValue), .text(key.hash), .text(key.prefix), .integer(key.createdAt.microseconds),
                      .text(key.createdBy), key.expiresAt.map { .integer($0.microseconds) } ?? .null])
            let id = connection.lastInsertRowID
            try SQLiteStore.insertAudit(audit, connection)
            return .created(APIKeyRecord(id: id, key))
        }
    }

    public func revokeAPIKeys(named name: String, at: Timestamp, audit: AuditEntry) throws(StoreError) -> Int {
        try writer.perform { connection throws(SQLiteError) in
            try connection.query("UPDATE api_keys SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                                 [.integer(at.microseconds), .text(name)])
            let revoked = connection.changes
            if revoked > 0 { try SQLiteStore.insertAudit(audit, connection) }
            return revoked
        }
    }

    public func apiKeys() throws(StoreError) -> [APIKeyRecord] {
        try readers.read { connection throws(SQLiteError) in
            var keys: [APIKeyRecord] = []
            try connection.query("SELECT \(SQLiteStore.keyColumns) FROM api_keys ORDER BY id DESC") { keys.append(SQLiteStore.key(from: $0)) }
            return keys
        }
    }

    public func apiKey(hash: String) throws(StoreError) -> APIKeyRecord? {
        try readers.read { connection throws(SQLiteError) in
            var key: APIKeyRecord?
            try connection.query("SELECT \(SQLiteStore.keyColumns) FROM api_keys WHERE key_hash = ?", [.text(hash)]) { key = SQLiteStore.key(from: $0) }
            return key
        }
    }

    /// A read on a local file in WAL mode never waits for the writer: cheap enough for the I/O thread.
    public var apiKeyLookupMayBlock: Bool { false }

    public func hasActiveAPIKeys(at now: Timestamp) throws(StoreError) -> Bool {
        try readers.read { connection throws(SQLiteError) in
            try connection.scalar("""
                SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND coalesce(expires_at, 9223372036854775807) > ?)
                """, [.integer(now.microseconds)]) != 0
        }
    }

    public func hasAnyAPIKeys() throws(StoreError) -> Bool {
        try readers.read { connection throws(SQLiteError) in try connection.scalar("SELECT EXISTS (SELECT 1 FROM api_keys)") != 0 }
    }

    public func recordAudit(_ entry: AuditEntry) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in try SQLiteStore.insertAudit(entry, connection) }
    }

    public func auditEntries(_ query: AuditQuery) throws(StoreError) -> [AuditEntry] {
        try readers.read { connection throws(SQLiteError) in
            var conditions = ["id < ?"], values: [SQLiteValue] = [.integer(query.before ?? Int64.max)]
            if let id = query.messageID { conditions.append("message_id = ?"); values.append(.integer(id)) }
            if let actor = query.actor { conditions.append("actor = ?"); values.append(.text(actor)) }
            if let action = query.action { conditions.append("action = ?"); values.append(.text(action)) }
            values.append(.integer(Int64(query.limit)))
            var entries: [AuditEntry] = []
            try connection.query("""
                SELECT id, at, actor, role, address, action, message_id, detail, key_id FROM audit_log
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT ?
                """, values) { row in
                var entry = AuditEntry(id: row.integer(0), at: Timestamp(microseconds: row.integer(1)), actor: row.text(2), role: row.text(3),
                                       address: row.text(4), action: row.text(5), messageID: row.optionalInteger(6))
                entry.detail = row.isNull(7) ? nil : row.text(7)
                entry.keyID = row.optionalInteger(8)
                entries.append(entry)
            }
            return entries
        }
    }

    /// Appends `entry` inside the current transaction.
    static func insertAudit(_ entry: AuditEntry, _ connection: SQLiteConnection) throws(SQLiteError) {
        try connection.query("""
            INSERT INTO audit_log(at, actor, role, address, action, message_id, detail, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [.integer(entry.at.microseconds), .text(entry.actor), .text(entry.role), .text(entry.address), .text(entry.action),
                  entry.messageID.map { .integer($0) } ?? .null, entry.detail.map { .text($0) } ?? .null,
                  entry.keyID.map { .integer($0) } ?? .null])
    }

    private static let keyColumns = "id, name, role, key_hash, key_prefix, created_at, created_by, expires_at, revoked_at"

    private static func key(from row: SQLiteStatement) -> APIKeyRecord {
        APIKeyRecord(id: row.integer(0), name: row.text(1), role: Role(rawValue: row.text(2)) ?? .read, hash: row.text(3), prefix: row.text(4),
                     createdAt: Timestamp(microseconds: row.integer(5)), createdBy: row.text(6),
                     expiresAt: row.optionalInteger(7).map(Timestamp.init(microseconds:)),
                     revokedAt: row.optionalInteger(8).map(Timestamp.init(microseconds:)))
    }
}
