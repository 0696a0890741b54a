import Support

/// The LLM refinement queue on SQLite: claims and results go through the one writer, so claims never overlap.
extension SQLiteStore {
    public func claimRefinements(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [RefinementJob] {
        try writer.perform { connection throws(SQLiteError) in
            var jobs: [RefinementJob] = []
            try connection.query("""
                SELECT q.message_id, m.customer_id, m.body, m.created_at, q.priority, q.queued_at, q.attempts, m.rules_version
                FROM llm_refinements q JOIN messages m ON m.id = q.message_id
                WHERE q.next_attempt_at <= ? AND coalesce(q.locked_until, 0) < ?
                ORDER BY q.priority DESC, q.message_id DESC LIMIT ?
                """, [.integer(now.microseconds), .integer(now.microseconds), .integer(Int64(limit))]) { row in
                jobs.append(RefinementJob(messageID: row.integer(0), customerID: row.integer(1), body: row.text(2),
                                          createdAt: Timestamp(microseconds: row.integer(3)), priority: row.real(4),
                                          queuedAt: Timestamp(microseconds: row.integer(5)), attempts: Int(row.integer(6)),
                                          claim: leaseUntil, rulesVersion: row.text(7)))
            }
            for job in jobs {
                try connection.query("UPDATE llm_refinements SET locked_until = ? WHERE message_id = ?",
                                     [.integer(leaseUntil.microseconds), .integer(job.messageID)])
            }
            return jobs
        }
    }

    public func finishRefinements(_ results: [RefinementResult]) throws(StoreError) {
        try writer.perform { connection throws(SQLiteError) in
            for result in results {
                let id = SQLiteValue.integer(result.messageID), claim = SQLiteValue.integer(result.claim.microseconds)
                var held = false
                try connection.query("SELECT 1 FROM llm_refinements WHERE message_id = ? AND locked_until = ?", [id, claim]) { _ in held = true }
                guard held else { continue }
                switch result.outcome {
                case .refined(let update, let replacing):
                    try connection.query("""
                        UPDATE messages SET urgency = ?, rules_version = ?, breakdown = ?, first_response_due = ? WHERE id = ? AND rules_version = ?
                        """, [.real(update.urgency), .text(update.rulesVersion), .text(update.breakdownJSON),
                              update.responseDue.map { .integer($0.microseconds) } ?? .null, id, .text(replacing)])
                    let replaced = connection.changes > 0
                    try connection.query("DELETE FROM llm_refinements WHERE message_id = ?", [id])
                    if replaced {
                        try connection.query("INSERT INTO events(type, message_id, change) VALUES ('message.updated', ?, 'refine')", [id])
                    }
                case .retry(let at, let reason, let counts):
                    try connection.query("""
                        UPDATE llm_refinements SET attempts = attempts + ?, next_attempt_at = ?, last_error = ?, locked_until = NULL
                        WHERE message_id = ?
                        """, [.integer(counts ? 1 : 0), .integer(at.microseconds), .text(reason), id])
                case .skipped(let reason):
                    try SQLiteStore.skipRefinement(id, reason: reason, connection)
                }
            }
        }
    }

    public func trimRefinements(keeping: Int?, queuedBefore: Timestamp?, now: Timestamp, limit: Int) throws(StoreError) -> Int {
        guard keeping != nil || queuedBefore != nil else { return 0 }
        return try writer.perform { connection throws(SQLiteError) in
            var ids: [Int64] = []
            try connection.query("""
                SELECT message_id FROM llm_refinements
                WHERE coalesce(locked_until, 0) < ?
                  AND (queued_at < ? OR message_id IN (
                      SELECT message_id FROM llm_refinements ORDER BY priority DESC, message_id DESC LIMIT -1 OFFSET ?))
                LIMIT ?
                """, [.integer(now.microseconds), .integer(queuedBefore?.microseconds ?? Int64.min),
                      .integer(Int64(keeping ?? Int(Int32.max))), .integer(Int64(limit))]) { ids.append($0.integer(0)) }
            for id in ids { try SQLiteStore.skipRefinement(.integer(id), reason: "backlog", connection) }
            return ids.count
        }
    }

    public func refinementQueue() throws(StoreError) -> RefinementQueueState {
        try readers.read { connection throws(SQLiteError) in
            var state = RefinementQueueState(depth: 0, oldestQueuedAt: nil)
            try connection.query("SELECT count(*), min(queued_at), min(priority) FROM llm_refinements") { row in
                state = RefinementQueueState(depth: Int(row.integer(0)), oldestQueuedAt: row.optionalInteger(1).map(Timestamp.init(microseconds:)),
                                             lowestPriority: row.isNull(2) ? nil : row.real(2))
            }
            return state
        }
    }

    public func addLLMUsage(_ usage: LLMUsage, day: String) throws(StoreError) -> LLMUsage {
        try writer.perform { connection throws(SQLiteError) in
            var total = usage
            try connection.query("""
                INSERT INTO llm_usage(day, calls, input_tokens, output_tokens) VALUES (?, ?, ?, ?)
                ON CONFLICT (day) DO UPDATE SET calls = calls + excluded.calls, input_tokens = input_tokens + excluded.input_tokens,
                    output_tokens = output_tokens + excluded.output_tokens
                RETURNING calls, input_tokens, output_tokens
                """, [.text(day), .integer(Int64(usage.calls)), .integer(Int64(usage.inputTokens)), .integer(Int64(usage.outputTokens))]) { row in
                total = LLMUsage(calls: Int(row.integer(0)), inputTokens: Int(row.integer(1)), outputTokens: Int(row.integer(2)))
            }
            return total
        }
    }

    public func llmUsage(day: String) throws(StoreError) -> LLMUsage {
        try readers.read { connection throws(SQLiteError) in
            var total = LLMUsage()
            try connection.query("SELECT calls, input_tokens, output_tokens FROM llm_usage WHERE day = ?", [.text(day)]) { row in
                total = LLMUsage(calls: Int(row.integer(0)), inputTokens: Int(row.integer(1)), outputTokens: Int(row.integer(2)))
            }
            return total
        }
    }

    /// The message keeps its keyword score; its breakdown's `llm` part says why; it leaves the queue.
    private static func skipRefinement(_ id: SQLiteValue, reason: String, _ connection: SQLiteConnection) throws(SQLiteError) {
        try connection.query("UPDATE messages SET breakdown = json_patch(breakdown, ?) WHERE id = ?",
                             [.text(SkippedLLMPatch.json(reason: reason)), id])
        try connection.query("DELETE FROM llm_refinements WHERE message_id = ?", [id])
    }
}
