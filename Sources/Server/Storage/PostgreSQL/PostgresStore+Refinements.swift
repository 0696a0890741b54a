import Support

/// The LLM refinement queue on PostgreSQL: several servers refine at once; each claims queued messages with
/// `FOR UPDATE SKIP LOCKED`, so every message is refined by one server at a time.
extension PostgresStore {
    public func claimRefinements(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [RefinementJob] {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                WITH claimed AS (
                    UPDATE llm_refinements SET locked_until = $3 WHERE message_id IN (
                        SELECT message_id FROM llm_refinements WHERE next_attempt_at <= $1 AND coalesce(locked_until, 0) < $1
                        ORDER BY priority DESC, message_id DESC LIMIT $2 FOR UPDATE SKIP LOCKED)
                    RETURNING message_id, priority, queued_at, attempts)
                SELECT c.message_id, m.customer_id, m.body, m.created_at, c.priority, c.queued_at, c.attempts, m.rules_version
                FROM claimed c JOIN messages m ON m.id = c.message_id
                ORDER BY c.priority DESC, c.message_id DESC
                """, [.integer(now.microseconds), .integer(Int64(limit)), .integer(leaseUntil.microseconds)])
            return (0..<rows.count).map { row in
                RefinementJob(messageID: rows.integer(row, 0), customerID: rows.integer(row, 1), body: rows.text(row, 2),
                              createdAt: Timestamp(microseconds: rows.integer(row, 3)), priority: rows.real(row, 4),
                              queuedAt: Timestamp(microseconds: rows.integer(row, 5)), attempts: Int(rows.integer(row, 6)),
                              claim: leaseUntil, rulesVersion: rows.text(row, 7))
            }
        }
    }

    public func finishRefinements(_ results: [RefinementResult]) throws(StoreError) {
        try pool.withConnection { connection throws(PostgresError) in
            try connection.transaction { () throws(PostgresError) in
                for result in results {
                    let id = PostgresValue.integer(result.messageID)
                    let held = try connection.query("SELECT 1 FROM llm_refinements WHERE message_id = $1 AND locked_until = $2 FOR UPDATE",
                                                    [id, .integer(result.claim.microseconds)])
                    guard held.count > 0 else { continue }
                    switch result.outcome {
                    case .refined(let update, let replacing):
                        // The message row is locked before the event is numbered, as every change to a message does.
                        let replaced = try connection.query("""
                            UPDATE messages SET urgency = $2, rules_version = $3, breakdown = $4, first_response_due = $5
                            WHERE id = $1 AND rules_version = $6
                            """, [id, .real(update.urgency), .text(update.rulesVersion), .text(update.breakdownJSON),
                                  update.responseDue.map { .integer($0.microseconds) } ?? .null, .text(replacing)]).affected > 0
                        try connection.query("DELETE FROM llm_refinements WHERE message_id = $1", [id])
                        if replaced {
                            try connection.query("INSERT INTO events(type, message_id, change) VALUES ('message.updated', $1, 'refine')", [id])
                        }
                    case .retry(let at, let reason, let counts):
                        try connection.query("""
                            UPDATE llm_refinements SET attempts = attempts + $2, next_attempt_at = $3, last_error = $4, locked_until = NULL
                            WHERE message_id = $1
                            """, [id, .integer(counts ? 1 : 0), .integer(at.microseconds), .text(reason)])
                    case .skipped(let reason):
                        try connection.query("UPDATE messages SET breakdown = \(PostgresStore.skippedBreakdown(patch: "$2")) WHERE id = $1",
                                             [id, .text(SkippedLLMPatch.llmPart(reason: reason))])
                        try connection.query("DELETE FROM llm_refinements WHERE message_id = $1", [id])
                    }
                }
            }
        }
    }

    public func trimRefinements(keeping: Int?, queuedBefore: Timestamp?, now: Timestamp, limit: Int) throws(StoreError) -> Int {
        guard keeping != nil || queuedBefore != nil else { return 0 }
        return try pool.withConnection { connection throws(PostgresError) in
            try connection.query("""
                WITH doomed AS (
                    SELECT message_id FROM llm_refinements
                    WHERE coalesce(locked_until, 0) < $1
                      AND (queued_at < $2 OR message_id IN (
                          SELECT message_id FROM llm_refinements ORDER BY priority DESC, message_id DESC OFFSET $3))
                    LIMIT $5 FOR UPDATE SKIP LOCKED),
                patched AS (
                    UPDATE messages SET breakdown = \(PostgresStore.skippedBreakdown(patch: "$4"))
                    FROM doomed WHERE messages.id = doomed.message_id RETURNING messages.id)
                DELETE FROM llm_refinements WHERE message_id IN (SELECT message_id FROM doomed) RETURNING message_id
                """, [.integer(now.microseconds), .integer(queuedBefore?.microseconds ?? Int64.min),
                      .integer(Int64(keeping ?? Int(Int32.max))), .text(SkippedLLMPatch.llmPart(reason: "backlog")),
                      .integer(Int64(limit))]).count
        }
    }

    public func refinementQueue() throws(StoreError) -> RefinementQueueState {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT count(*), min(queued_at), min(priority) FROM llm_refinements")
            return RefinementQueueState(depth: Int(rows.integer(0, 0)),
                                        oldestQueuedAt: rows.optionalInteger(0, 1).map(Timestamp.init(microseconds:)),
                                        lowestPriority: rows.isNull(0, 2) ? nil : rows.real(0, 2))
        }
    }

    public func addLLMUsage(_ usage: LLMUsage, day: String) throws(StoreError) -> LLMUsage {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("""
                INSERT INTO llm_usage(day, calls, input_tokens, output_tokens) VALUES ($1, $2, $3, $4)
                ON CONFLICT (day) DO UPDATE SET calls = llm_usage.calls + excluded.calls,
                    input_tokens = llm_usage.input_tokens + excluded.input_tokens, output_tokens = llm_usage.output_tokens + excluded.output_tokens
                RETURNING calls, input_tokens, output_tokens
                """, [.text(day), .integer(Int64(usage.calls)), .integer(Int64(usage.inputTokens)), .integer(Int64(usage.outputTokens))])
            return LLMUsage(calls: Int(rows.integer(0, 0)), inputTokens: Int(rows.integer(0, 1)), outputTokens: Int(rows.integer(0, 2)))
        }
    }

    public func llmUsage(day: String) throws(StoreError) -> LLMUsage {
        try pool.withConnection { connection throws(PostgresError) in
            let rows = try connection.query("SELECT calls, input_tokens, output_tokens FROM llm_usage WHERE day = $1", [.text(day)])
            guard rows.count > 0 else { return LLMUsage() }
            return LLMUsage(calls: Int(rows.integer(0, 0)), inputTokens: Int(rows.integer(0, 1)), outputTokens: Int(rows.integer(0, 2)))
        }
    }

    /// The breakdown with its `llm` part merged with the object in parameter `patch` (`$2`): the message keeps
    /// its keyword score.
    static func skippedBreakdown(patch: String) -> String {
        """
        (CASE WHEN jsonb_typeof(breakdown::jsonb) = 'object'
              THEN breakdown::jsonb || jsonb_build_object('llm', (CASE WHEN jsonb_typeof(breakdown::jsonb -> 'llm') = 'object'
                                                                      THEN breakdown::jsonb -> 'llm' ELSE '{}'::jsonb END) || \(patch)::jsonb)
              ELSE jsonb_build_object('llm', \(patch)::jsonb) END)::text
        """
    }
}
