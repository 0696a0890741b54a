/// The SQLite schema, as numbered migrations applied in order and recorded in `PRAGMA user_version`.
enum SQLiteSchema {
    /// Migration N brings the schema from version N-1 to N. Append only; never edit a shipped migration.
    static let migrations: [String] = [
        """
        CREATE TABLE customers (id INTEGER PRIMARY KEY);
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL,          -- microseconds since 1970, UTC
            urgency REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            assigned_to TEXT,
            assigned_at INTEGER,
            rules_version TEXT NOT NULL,
            breakdown TEXT NOT NULL,              -- JSON
            import_key TEXT                       -- set for imported rows: makes re-imports idempotent
        );
        CREATE UNIQUE INDEX messages_import_key ON messages(import_key) WHERE import_key IS NOT NULL;
        CREATE INDEX messages_status_urgency ON messages(status, urgency DESC, created_at DESC, id DESC);
        CREATE INDEX messages_status_time ON messages(status, created_at DESC, id DESC);
        CREATE INDEX messages_urgency ON messages(urgency DESC, created_at DESC, id DESC);
        CREATE INDEX messages_customer ON messages(customer_id, created_at);
        CREATE TABLE replies (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id),
            agent_name TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX replies_message ON replies(message_id, id);
        CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

        -- Substring search: a trigram index over message bodies, filled in batches behind the inserts (see
        -- SQLiteSearchIndexer); messages above indexed_through are searched by scanning.
        CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id', tokenize='trigram');
        CREATE TABLE search_index_state (indexed_through INTEGER NOT NULL);
        INSERT INTO search_index_state VALUES (0);

        -- Counts per status, so listing a status needs no COUNT(*) over a million rows.
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO counters VALUES ('open', 0), ('resolved', 0);
        CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
            UPDATE counters SET value = value + 1 WHERE name = new.status;
        END;
        CREATE TRIGGER messages_count_status AFTER UPDATE OF status ON messages WHEN old.status <> new.status BEGIN
            UPDATE counters SET value = value - 1 WHERE name = old.status;
            UPDATE counters SET value = value + 1 WHERE name = new.status;
        END;
        """,
        """
        -- The server processes working on this database and the rules version each runs.
        CREATE TABLE instances (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            rules_version TEXT NOT NULL,
            rules_activated_at INTEGER NOT NULL,
            last_seen INTEGER NOT NULL
        ) WITHOUT ROWID;
        """,
        """
        -- The event feed (GET /api/events): every ticket change, written by triggers in the change's own
        -- transaction, numbered in commit order (one writer). Pruned to the newest events by the server.
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            type TEXT NOT NULL,
            message_id INTEGER,
            change TEXT,
            detail TEXT
        );
        CREATE TRIGGER events_message_created AFTER INSERT ON messages BEGIN
            INSERT INTO events(type, message_id) VALUES ('message.created', new.id);
        END;
        CREATE TRIGGER events_message_status AFTER UPDATE OF status ON messages WHEN old.status <> new.status BEGIN
            INSERT INTO events(type, message_id, change)
            VALUES ('message.updated', new.id, CASE new.status WHEN 'resolved' THEN 'resolve' ELSE 'reopen' END);
        END;
        CREATE TRIGGER events_message_assignment AFTER UPDATE OF assigned_to, assigned_at ON messages
        WHEN new.assigned_to IS NOT old.assigned_to OR new.assigned_at IS NOT old.assigned_at BEGIN
            INSERT INTO events(type, message_id, change)
            VALUES ('message.updated', new.id, CASE WHEN new.assigned_to IS NULL THEN 'unassign' ELSE 'assign' END);
        END;
        CREATE TRIGGER events_reply AFTER INSERT ON replies BEGIN
            INSERT INTO events(type, message_id, change) VALUES ('message.updated', new.message_id, 'reply');
        END;

        -- Rule sets deployed through the API (PUT /api/rules), newest last.
        CREATE TABLE rules_deployments (
            id INTEGER PRIMARY KEY,
            version TEXT NOT NULL,
            files TEXT NOT NULL,                  -- JSON: path → source
            deployed_at INTEGER NOT NULL,
            deployed_by TEXT NOT NULL,
            instance TEXT NOT NULL
        );
        """,
        """
        -- Webhooks: the endpoints the server is configured with, and one delivery per event and endpoint, written
        -- by a trigger in the same transaction as the event (and so as the change): a delivery is never lost.
        CREATE TABLE webhook_endpoints (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            events TEXT NOT NULL DEFAULT '*',     -- '*' or a comma-separated list of event types
            min_urgency REAL,                     -- message.created only for messages at or above it
            enabled INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY,
            event_id INTEGER NOT NULL,
            endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints(id),
            message_id INTEGER,
            type TEXT NOT NULL,
            change TEXT,
            detail TEXT,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,          -- microseconds since 1970
            next_attempt_at INTEGER NOT NULL,
            last_attempt_at INTEGER,
            last_status INTEGER,
            last_error TEXT,
            body TEXT,                            -- the JSON sent, fixed at the first attempt
            locked_until INTEGER
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
        CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, message_id, id) WHERE status = 'pending';
        CREATE TRIGGER events_webhooks AFTER INSERT ON events BEGIN
            INSERT INTO webhook_deliveries(event_id, endpoint_id, message_id, type, change, detail, created_at, next_attempt_at)
            SELECT new.id, w.id, new.message_id, new.type, new.change, new.detail,
                   CAST(strftime('%s', 'now') AS INTEGER) * 1000000 + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER) * 1000,
                   CAST(strftime('%s', 'now') AS INTEGER) * 1000000 + CAST(substr(strftime('%f', 'now'), 4) AS INTEGER) * 1000
            FROM webhook_endpoints w
            WHERE w.enabled AND (w.events = '*' OR instr(',' || w.events || ',', ',' || new.type || ',') > 0)
              AND (w.min_urgency IS NULL OR new.type <> 'message.created'
                   OR (SELECT urgency FROM messages WHERE id = new.message_id) >= w.min_urgency);
        END;
        """,
        """
        -- First-response targets (the rules' sla): when each message must first be answered, and when it was.
        ALTER TABLE messages ADD COLUMN first_response_due INTEGER;
        ALTER TABLE messages ADD COLUMN first_response_at INTEGER;
        ALTER TABLE messages ADD COLUMN overdue_notified INTEGER NOT NULL DEFAULT 0;
        -- The overdue check reads only open, unanswered, not yet reported messages, by due time.
        CREATE INDEX messages_overdue ON messages(first_response_due)
            WHERE first_response_at IS NULL AND overdue_notified = 0 AND status = 'open' AND first_response_due IS NOT NULL;
        -- sort=due: earliest first-response due first, answered ones last (the expression KeysetPaging orders by).
        CREATE INDEX messages_status_due ON messages(status, (CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL
            THEN first_response_due ELSE 9223372036854775807 END), id);
        CREATE INDEX messages_due ON messages((CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL
            THEN first_response_due ELSE 9223372036854775807 END), id);
        CREATE TRIGGER replies_first_response AFTER INSERT ON replies BEGIN
            UPDATE messages SET first_response_at = new.created_at WHERE id = new.message_id AND first_response_at IS NULL;
        END;
        """,
        """
        -- The LLM step in the background (LLM_MODE=background): one row per message waiting for the model, written
        -- in the message's own transaction, taken by a refiner when due (most urgent by keyword score, newest first).
        CREATE TABLE llm_refinements (
            message_id INTEGER PRIMARY KEY REFERENCES messages(id),
            priority REAL NOT NULL,               -- the keyword score
            queued_at INTEGER NOT NULL,           -- microseconds since 1970
            next_attempt_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            locked_until INTEGER                  -- claimed by a refiner until then
        );
        CREATE INDEX llm_refinements_order ON llm_refinements(priority DESC, message_id DESC);
        CREATE INDEX llm_refinements_age ON llm_refinements(queued_at);
        -- Tokens the model was billed for, per UTC day (the daily budget counts them), shared by a fleet.
        CREATE TABLE llm_usage (
            day TEXT PRIMARY KEY,
            calls INTEGER NOT NULL DEFAULT 0,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        """,
        """
        -- API keys: only the SHA-256 of each key is kept (and its first characters, to tell keys apart in lists).
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('read', 'agent', 'admin')),
            key_hash TEXT NOT NULL UNIQUE,
            key_prefix TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            expires_at INTEGER,
            revoked_at INTEGER
        );
        CREATE INDEX api_keys_name ON api_keys(name);
        -- The audit trail: every state change, who made it, when and from where. Append only.
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            address TEXT NOT NULL,
            action TEXT NOT NULL,
            message_id INTEGER,
            detail TEXT,
            key_id INTEGER                        -- the API key used (names can be reused after a revocation)
        );
        CREATE INDEX audit_log_message ON audit_log(message_id, id) WHERE message_id IS NOT NULL;
        CREATE INDEX audit_log_actor ON audit_log(actor, id);
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """,
        """
        -- Listing every status merges a walk of each status's index (SQLiteStore.messages), so the indexes that
        -- ordered messages across statuses only cost pages on every insert.
        DROP INDEX IF EXISTS messages_urgency;
        DROP INDEX IF EXISTS messages_due;
        """,
        """
        -- The search index moved to a file of its own beside this one (SQLiteSearchIndex), built from the messages in
        -- the background; the key tells that file which store it indexes.
        DROP TABLE IF EXISTS messages_fts;
        DROP TABLE IF EXISTS search_index_state;
        INSERT OR IGNORE INTO settings(key, value) VALUES ('search_index_key', lower(hex(randomblob(16))));
        """,
    ]

    /// Brings the database up to the latest version, each migration in its own transaction.
    static func migrate(_ connection: SQLiteConnection) throws(SQLiteError) {
        let current = Int(try connection.scalar("PRAGMA user_version"))
        guard current <= migrations.count else {
            throw SQLiteError(code: 0, message: "the database is at schema version \(current), newer than this program (\(migrations.count))")
        }
        for version in current..<migrations.count {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migrations[version])
                try connection.execute("PRAGMA user_version = \(version + 1)")
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
