import Support

/// Records the changes that are not ticket writes (rules, the LLM toggle, seed, rescore, webhook retries) once they
/// have happened. Ticket writes carry their entry in their own transaction (`StoreWrite.audited`) and keys theirs
/// in the key's.
struct AuditTrail: Sendable {
    let store: any AccessStore

    /// Appends `entry`; a failure is logged (the change itself has happened and stays).
    func record(_ entry: AuditEntry) {
        do {
            try store.recordAudit(entry)
        } catch {
            OperationsLog.shared.report("audit", "could not record \(entry.action) by \(entry.actor) in the audit trail: \(error)")
        }
    }
}
