import Support

/// API keys and the audit trail, shared by every server on the store: a key created or revoked on one server
/// counts on all of them at their next request, and the trail is one for the fleet.
public protocol AccessStore: Sendable {
    /// Stores a key unless an active key (not revoked, not expired at `key.createdAt`) has its name; records `audit`
    /// in the same transaction.
    func createAPIKey(_ key: NewAPIKey, audit: AuditEntry) throws(StoreError) -> APIKeyCreation
    /// Revokes every key with this name that is not revoked yet, at `at`, recording `audit` in the same transaction
    /// when there was one; how many.
    func revokeAPIKeys(named name: String, at: Timestamp, audit: AuditEntry) throws(StoreError) -> Int
    /// Every key, revoked and expired ones too, newest first.
    func apiKeys() throws(StoreError) -> [APIKeyRecord]
    /// The key with this SHA-256 (hex), whatever its state; nil when there is none.
    func apiKey(hash: String) throws(StoreError) -> APIKeyRecord?
    /// Whether `apiKey(hash:)` may wait (on the network): then the API looks keys up on a worker thread, not on
    /// the I/O thread.
    var apiKeyLookupMayBlock: Bool { get }
    /// Whether any key is active at `now`.
    func hasActiveAPIKeys(at now: Timestamp) throws(StoreError) -> Bool
    /// Whether any key was ever created (revoked and expired ones count).
    func hasAnyAPIKeys() throws(StoreError) -> Bool
    /// Appends an entry to the audit trail (for changes that are not ticket writes; those carry theirs in
    /// `StoreWrite.audited`).
    func recordAudit(_ entry: AuditEntry) throws(StoreError)
    /// Entries, newest first.
    func auditEntries(_ query: AuditQuery) throws(StoreError) -> [AuditEntry]
}

extension AccessStore {
    public var apiKeyLookupMayBlock: Bool { true }
}
