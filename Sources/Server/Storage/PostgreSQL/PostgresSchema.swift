/// The PostgreSQL schema, as numbered migrations recorded in `schema_migrations`. Servers starting at the same
/// time take an advisory lock, so each migration runs once. Append only; never edit a shipped migration.
enum PostgresSchema {
    static let migrations: [String] = [
        """
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        -- ASCII-only lower case (lower() under the C collation touches only A-Z, whatever the database's locale):
        -- search is case-insensitive for ASCII letters, exactly like the seed on SQLite. Ten times faster than
        -- translate().
        CREATE FUNCTION ascii_lower(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
            AS $$ SELECT lower($1 COLLATE "C") $$;
        CREATE TABLE customers (id bigint PRIMARY KEY);
        CREATE TABLE messages (
            id bigserial PRIMARY KEY,
            customer_id bigint NOT NULL REFERENCES customers(id),
            body text NOT NULL,
            created_at bigint NOT NULL,          -- microseconds since 1970, UTC
            urgency double precision NOT NULL,
            status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            assigned_to text,
            assigned_at bigint,
            rules_version text NOT NULL,
            breakdown text NOT NULL,             -- JSON, kept byte for byte
            import_key text                      -- set for imported rows: makes re-imports idempotent
        );
        CREATE UNIQUE INDEX messages_import_key ON messages(import_key) WHERE import_key IS NOT NULL;
        CREATE INDEX messages_status_urgency ON messages(status, urgency, created_at, id);
        CREATE INDEX messages_status_time ON messages(status, created_at, id);
        CREATE INDEX messages_urgency ON messages(urgency, created_at, id);
        CREATE INDEX messages_time ON messages(created_at, id);
        CREATE INDEX messages_customer ON messages(customer_id, created_at);
        -- Substring search: trigrams of the ASCII-lowercased body, used by LIKE '%…%'.
        CREATE INDEX messages_body_trigrams ON messages USING gin (ascii_lower(body) gin_trgm_ops);
        CREATE TABLE replies (
            id bigserial PRIMARY KEY,
            message_id bigint NOT NULL REFERENCES messages(id),
            agent_name text NOT NULL,
            body text NOT NULL,
            created_at bigint NOT NULL
        );
        CREATE INDEX replies_message ON replies(message_id, id);
        CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);

        -- Counts per status, so listing a status needs no count(*) over a million rows. Sharded by server
        -- connection, so concurrent writers (and instances) do not queue on one row.
        CREATE TABLE counters (name text NOT NULL, shard int NOT NULL, value bigint NOT NULL, PRIMARY KEY (name, shard));
        CREATE FUNCTION count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO counters(name, shard, value)
            SELECT status, pg_backend_pid() % 16, count(*) FROM inserted GROUP BY status
            ON CONFLICT (name, shard) DO UPDATE SET value = counters.value + excluded.value;
            RETURN NULL;
        END $$;
        CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION count_inserted();
        CREATE FUNCTION count_status_changes() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO counters(name, shard, value)
            SELECT name, pg_backend_pid() % 16, sum(delta) FROM (
                SELECT o.status AS name, -1 AS delta FROM old_rows o JOIN new_rows n USING (id) WHERE o.status <> n.status
                UNION ALL
                SELECT n.status, 1 FROM old_rows o JOIN new_rows n USING (id) WHERE o.status <> n.status
            ) changes GROUP BY name
            ON CONFLICT (name, shard) DO UPDATE SET value = counters.value + excluded.value;
            RETURN NULL;
        END $$;
        CREATE TRIGGER messages_count_status AFTER UPDATE ON messages
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_status_changes();

        -- The servers working on this database and the rules version each runs (the fleet view).
        CREATE TABLE instances (
            id text PRIMARY KEY,
            host text NOT NULL,
            pid integer NOT NULL,
            started_at bigint NOT NULL,
            rules_version text NOT NULL,
            rules_activated_at bigint NOT NULL,
            last_seen bigint NOT NULL
        );
        """,
        """
        -- The event feed (GET /api/events): every ticket change, written by statement-level triggers in the
        -- change's own transaction. Ids come from a sequence, which is not commit order when several servers
        -- write, so each event also records its transaction (xid) and a follower reads whole transactions once
        -- nothing older is still running (see PostgresEventFeed).
        CREATE TABLE events (
            id bigserial PRIMARY KEY,
            xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
            type text NOT NULL,
            message_id bigint,
            change text,
            detail text
        );
        CREATE INDEX events_xid ON events(xid, id);
        CREATE FUNCTION events_messages_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO events(type, message_id) SELECT 'message.created', id FROM inserted ORDER BY id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER events_messages_insert AFTER INSERT ON messages
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION events_messages_inserted();
        CREATE FUNCTION events_messages_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO events(type, message_id, change)
            SELECT 'message.updated', n.id, CASE n.status WHEN 'resolved' THEN 'resolve' ELSE 'reopen' END
            FROM old_rows o JOIN new_rows n USING (id) WHERE o.status <> n.status
            UNION ALL
            SELECT 'message.updated', n.id, CASE WHEN n.assigned_to IS NULL THEN 'unassign' ELSE 'assign' END
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE n.assigned_to IS DISTINCT FROM o.assigned_to OR n.assigned_at IS DISTINCT FROM o.assigned_at;
            RETURN NULL;
        END $$;
        CREATE TRIGGER events_messages_update AFTER UPDATE ON messages
            REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION events_messages_updated();
        CREATE FUNCTION events_replies_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO events(type, message_id, change) SELECT 'message.updated', message_id, 'reply' FROM inserted ORDER BY id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER events_replies_insert AFTER INSERT ON replies
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION events_replies_inserted();

        -- Rule sets deployed through the API (PUT /api/rules): every server pulls the latest and activates it.
        CREATE TABLE rules_deployments (
            id bigserial PRIMARY KEY,
            version text NOT NULL,
            files text NOT NULL,                  -- JSON: path → source
            deployed_at bigint NOT NULL,
            deployed_by text NOT NULL,
            instance text NOT NULL
        );
        """,
        """
        -- Webhooks: the endpoints, and one delivery per event and endpoint, written by a trigger in the same
        -- transaction as the event (and so as the change). Servers claim due deliveries with SKIP LOCKED.
        CREATE TABLE webhook_endpoints (
            id bigserial PRIMARY KEY,
            url text NOT NULL UNIQUE,
            events text NOT NULL DEFAULT '*',
            min_urgency double precision,
            enabled boolean NOT NULL DEFAULT true
        );
        CREATE TABLE webhook_deliveries (
            id bigserial PRIMARY KEY,
            event_id bigint NOT NULL,
            endpoint_id bigint NOT NULL REFERENCES webhook_endpoints(id),
            message_id bigint,
            type text NOT NULL,
            change text,
            detail text,
            status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts integer NOT NULL DEFAULT 0,
            created_at bigint NOT NULL,
            next_attempt_at bigint NOT NULL,
            last_attempt_at bigint,
            last_status integer,
            last_error text,
            body text,
            locked_until bigint
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
        CREATE INDEX webhook_deliveries_order ON webhook_deliveries(endpoint_id, message_id, id) WHERE status = 'pending';
        CREATE FUNCTION events_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE now_us bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
        BEGIN
            INSERT INTO webhook_deliveries(event_id, endpoint_id, message_id, type, change, detail, created_at, next_attempt_at)
            SELECT e.id, w.id, e.message_id, e.type, e.change, e.detail, now_us, now_us
            FROM inserted e CROSS JOIN webhook_endpoints w LEFT JOIN messages m ON m.id = e.message_id
            WHERE w.enabled AND (w.events = '*' OR position(',' || e.type || ',' IN ',' || w.events || ',') > 0)
              AND (w.min_urgency IS NULL OR e.type <> 'message.created' OR m.urgency >= w.min_urgency)
            ORDER BY e.id, w.id;
            RETURN NULL;
        END $$;
        CREATE TRIGGER events_webhooks AFTER INSERT ON events
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION events_webhooks();
        """,
        """
        -- First-response targets (the rules' sla): when each message must first be answered, and when it was.
        ALTER TABLE messages ADD COLUMN first_response_due bigint, ADD COLUMN first_response_at bigint,
            ADD COLUMN overdue_notified boolean NOT NULL DEFAULT false;
        CREATE INDEX messages_overdue ON messages(first_response_due)
            WHERE first_response_at IS NULL AND NOT overdue_notified AND status = 'open' AND first_response_due IS NOT NULL;
        CREATE INDEX messages_status_due ON messages(status, (CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL
            THEN first_response_due ELSE 9223372036854775807 END), id);
        CREATE INDEX messages_due ON messages((CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL
            THEN first_response_due ELSE 9223372036854775807 END), id);
        CREATE FUNCTION replies_first_response() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE messages m SET first_response_at = f.at
            FROM (SELECT message_id, min(created_at) AS at FROM inserted GROUP BY message_id) f
            WHERE m.id = f.message_id AND m.first_response_at IS NULL;
            RETURN NULL;
        END $$;
        CREATE TRIGGER replies_first_response AFTER INSERT ON replies
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION replies_first_response();
        """,
        """
        -- The LLM step in the background (LLM_MODE=background): one row per message waiting for the model, written
        -- in the message's own transaction, claimed with FOR UPDATE SKIP LOCKED (each message refined by one server).
        CREATE TABLE llm_refinements (
            message_id bigint PRIMARY KEY REFERENCES messages(id),
            priority double precision NOT NULL,
            queued_at bigint NOT NULL,
            next_attempt_at bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            last_error text,
            locked_until bigint
        );
        CREATE INDEX llm_refinements_order ON llm_refinements(priority DESC, message_id DESC);
        CREATE INDEX llm_refinements_age ON llm_refinements(queued_at);
        -- Tokens the model was billed for, per UTC day (the daily budget counts them), shared by the fleet.
        CREATE TABLE llm_usage (
            day text PRIMARY KEY,
            calls bigint NOT NULL DEFAULT 0,
            input_tokens bigint NOT NULL DEFAULT 0,
            output_tokens bigint NOT NULL DEFAULT 0
        );
        """,
        """
        -- API keys: only the SHA-256 of each key is kept (and its first characters, to tell keys apart in lists).
        CREATE TABLE api_keys (
            id bigserial PRIMARY KEY,
            name text NOT NULL,
            role text NOT NULL CHECK (role IN ('read', 'agent', 'admin')),
            key_hash text NOT NULL UNIQUE,
            key_prefix text NOT NULL,
            created_at bigint NOT NULL,
            created_by text NOT NULL,
            expires_at bigint,
            revoked_at bigint
        );
        CREATE INDEX api_keys_name ON api_keys(name);
        -- The audit trail: every state change, who made it, when and from where. Append only.
        CREATE TABLE audit_log (
            id bigserial PRIMARY KEY,
            at bigint NOT NULL,
            actor text NOT NULL,
            role text NOT NULL,
            address text NOT NULL,
            action text NOT NULL,
            message_id bigint,
            detail text,
            key_id bigint
        );
        CREATE INDEX audit_log_message ON audit_log(message_id, id) WHERE message_id IS NOT NULL;
        CREATE INDEX audit_log_actor ON audit_log(actor, id);
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only';
        END $$;
        CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        """,
        """
        -- Listing every status merges a walk of each status's index (PostgresStore.messages), so the indexes that
        -- ordered messages across statuses only cost pages on every insert.
        DROP INDEX IF EXISTS messages_urgency;
        DROP INDEX IF EXISTS messages_time;
        DROP INDEX IF EXISTS messages_due;
        """,
    ]

    /// An arbitrary key for the advisory lock that serialises migrations.
    static let migrationLock: Int64 = 0x7572_6765_6E63_79

    /// Brings the database up to the latest version, each migration in its own transaction.
    static func migrate(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.execute("SELECT pg_advisory_lock(\(migrationLock))")
        defer { try? connection.execute("SELECT pg_advisory_unlock(\(migrationLock))") }
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
            """)
        let current = Int(try connection.scalar("SELECT coalesce(max(version), 0) FROM schema_migrations"))
        guard current <= migrations.count else {
            throw PostgresError(message: "the database is at schema version \(current), newer than this program (\(migrations.count))",
                                sqlState: nil, connectionLost: false)
        }
        for version in current..<migrations.count {
            try connection.transaction { () throws(PostgresError) in
                try connection.execute(migrations[version])
                try connection.query("INSERT INTO schema_migrations(version) VALUES ($1)", [.integer(Int64(version + 1))])
            }
        }
    }
}
