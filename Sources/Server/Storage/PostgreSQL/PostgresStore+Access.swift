import Support

/// API keys and the audit trail on PostgreSQL, shared by the fleet: a name is checked and taken under a
/// transaction-scoped advisory lock on it, so two servers cannot give it to two active keys.
extension PostgresStore {
    public func createAPIKey(_ key: NewAPIKey, audit: AuditEntry) throws(StoreError) -> APIKeyCreation {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) -> APIKeyCreation in
                try connection.query("SELECT pg_advisory_xact_lock(hashtextextended('api_keys:' || $1, 0))", [.text(key.name)])
                let taken = try connection.query("""
                    SELECT 1 FROM api_keys WHERE name = $1 AND revoked_at IS NULL AND coalesce(expires_at, 9223372036854775807) > $2
                    """, [.text(key.name), .integer(key.createdAt.microseconds)]).count > 0
                if taken { return .nameTaken }
                let rows = try connection.query("""
                    INSERT INTO api_keys(name, role, key_hash, key_prefix, created_at, created_by, expires_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
                    """, [.text(key.name), .text(key.role.rawValue), .text(key.hash), .text(key.prefix), .integer(key.createdAt.microseconds),
                          .text(key.createdBy), key.expiresAt.map { .integer($0.microseconds) } ?? .null])
                try PostgresStore.insertAudit(audit, connection)
                return .created(APIKeyRecord(id: rows.integer(0, 0), key))
            }
        }
    }

    public func revokeAPIKeys(named name: String, at: Timestamp, audit: AuditEntry) throws(StoreError) -> Int {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) -> Int in
                let revoked = try connection.query("UPDATE api_keys SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
                                                   [.integer(at.microseconds), .text(name)]).affected
                if revoked > 0 { try PostgresStore.insertAudit(audit, connection) }
                return revoked
            }
        }
    }

    public func apiKeys() throws(StoreError) -> [APIKeyRecord] {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT \(PostgresStore.keyColumns) FROM api_keys ORDER BY id DESC")
            return (0..<rows.count).map { PostgresStore.key(rows, $0) }
        }
    }

    public func apiKey(hash: String) throws(StoreError) -> APIKeyRecord? {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT \(PostgresStore.keyColumns) FROM api_keys WHERE key_hash = $1", [.text(hash)])
            return rows.count > 0 ? PostgresStore.key(rows, 0) : nil
        }
    }

    public func hasActiveAPIKeys(at now: Timestamp) throws(StoreError) -> Bool {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                SELECT 1 FROM api_keys WHERE revoked_at IS NULL AND coalesce(expires_at, 9223372036854775807) > $1 LIMIT 1
                """, [.integer(now.microseconds)]).count > 0
        }
    }

    public func hasAnyAPIKeys() throws(StoreError) -> Bool {
        try pool.withConnection { connection throws(PostgresError) in try connection.query("SELECT 1 FROM api_keys LIMIT 1").count > 0 }
    }

    public func recordAudit(_ entry: AuditEntry) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in try PostgresStore.insertAudit(entry, connection) }
    }

    public func auditEntries(_ query: AuditQuery) throws(StoreError) -> [AuditEntry] {
        try pool.withConnection { connection throws(PostgresError) in
            var conditions = ["id < $1"], values: [PostgresValue] = [.integer(query.before ?? Int64.max)]
            if let id = query.messageID { values.append(.integer(id)); conditions.append("message_id = $\(values.count)") }
            if let actor = query.actor { values.append(.text(actor)); conditions.append("actor = $\(values.count)") }
            if let action = query.action { values.append(.text(action)); conditions.append("action = $\(values.count)") }
            values.append(.integer(Int64(query.limit)))
            let rows = try connection.query("""
                SELECT id, at, actor, role, address, action, message_id, detail, key_id FROM audit_log
                WHERE \(conditions.joined(separator: " AND ")) ORDER BY id DESC LIMIT $\(values.count)
                """, values)
            return (0..<rows.count).map { row in
                var entry = AuditEntry(id: rows.integer(row, 0), at: Timestamp(microseconds: rows.integer(row, 1)), actor: rows.text(row, 2),
                                       role: rows.text(row, 3), address: rows.text(row, 4), action: rows.text(row, 5),
                                       messageID: rows.optionalInteger(row, 6))
                entry.detail = rows.isNull(row, 7) ? nil : rows.text(row, 7)
                entry.keyID = rows.optionalInteger(row, 8)
                return entry
            }
        }
    }

    /// Appends `entry` inside the current transaction.
    static func insertAudit(_ entry: AuditEntry, _ connection: PostgresConnection) throws(PostgresError) {
        try connection.query("""
            INSERT INTO audit_log(at, actor, role, address, action, message_id, detail, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """, [.integer(entry.at.microseconds), .text(entry.actor), .text(entry.role), .text(entry.address), .text(entry.action),
                  entry.messageID.map { .integer($0) } ?? .null, entry.detail.map { .text($0) } ?? .null,
                  entry.keyID.map { .integer($0) } ?? .null])
    }

    private static let keyColumns = "id, name, role, key_hash, key_prefix, created_at, created_by, expires_at, revoked_at"

    private static func key(_ rows: PostgresRows, _ row: Int) -> APIKeyRecord {
        APIKeyRecord(id: rows.integer(row, 0), name: rows.text(row, 1), role: Role(rawValue: rows.text(row, 2)) ?? .read,
                     hash: rows.text(row, 3), prefix: rows.text(row, 4), createdAt: Timestamp(microseconds: rows.integer(row, 5)),
                     createdBy: rows.text(row, 6), expiresAt: rows.optionalInteger(row, 7).map(Timestamp.init(microseconds:)),
                     revokedAt: rows.optionalInteger(row, 8).map(Timestamp.init(microseconds:)))
    }
}
