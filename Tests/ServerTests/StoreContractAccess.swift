import Foundation
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The access role of the store contract: API keys (hashes only, one active key per name, revocation, expiry)
/// and the audit trail (written with the change it records, once, paged newest first).
extension StoreContract {
    private static func newKey(_ name: String, _ role: Role = .agent, at seconds: Int64, expiresAfter: Int64? = nil) -> (NewAPIKey, String) {
        let secret = APIKeySecret()
        let created = Timestamp(microseconds: seconds * 1_000_000)
        return (NewAPIKey(secret: secret, name: name, role: role, createdAt: created, createdBy: "contract", validity: expiresAfter.map(Double.init)),
                secret.key)
    }

    private static func audit(_ action: String, actor: String = "contract", message: Int64? = nil) -> AuditEntry {
        AuditEntry(at: .now(), actor: actor, role: "admin", address: "127.0.0.1", action: action, messageID: message)
    }

    func storesAPIKeys() throws {
        try withStore { store in
            let now = Int64(Timestamp.now().microseconds / 1_000_000)
            XCTAssertFalse(try store.hasActiveAPIKeys(at: .now()))
            let (alice, aliceKey) = StoreContract.newKey("alice", at: now)
            guard case .created(let record) = try store.createAPIKey(alice, audit: StoreContract.audit("key.create")) else { return XCTFail("not created") }
            XCTAssertEqual(record.name, "alice")
            XCTAssertEqual(try store.apiKey(hash: APIKeySecret.hash(aliceKey)), record)
            XCTAssertNil(try store.apiKey(hash: APIKeySecret.hash(aliceKey + "x")))
            XCTAssertTrue(try store.hasActiveAPIKeys(at: .now()))
            XCTAssertEqual(try store.createAPIKey(StoreContract.newKey("alice", at: now).0, audit: StoreContract.audit("key.create")), .nameTaken)

            // A key that expired frees its name; a revoked one too.
            let (brief, _) = StoreContract.newKey("brief", .read, at: now - 100, expiresAfter: 10)
            guard case .created = try store.createAPIKey(brief, audit: StoreContract.audit("key.create")) else { return XCTFail("brief not created") }
            guard case .created = try store.createAPIKey(StoreContract.newKey("brief", .read, at: now).0, audit: StoreContract.audit("key.create")) else {
                return XCTFail("an expired key's name is free")
            }
            XCTAssertEqual(try store.revokeAPIKeys(named: "alice", at: .now(), audit: StoreContract.audit("key.revoke")), 1)
            XCTAssertEqual(try store.revokeAPIKeys(named: "alice", at: .now(), audit: StoreContract.audit("key.revoke")), 0)
            XCTAssertNotNil(try store.apiKey(hash: APIKeySecret.hash(aliceKey))?.revokedAt)
            guard case .created = try store.createAPIKey(StoreContract.newKey("alice", at: now).0, audit: StoreContract.audit("key.create")) else {
                return XCTFail("a revoked key's name is free")
            }
            let keys = try store.apiKeys()
            XCTAssertEqual(keys.map(\.name), ["alice", "brief", "brief", "alice"], "newest first")
            XCTAssertEqual(keys.map { $0.status(at: .now()) }, ["active", "active", "expired", "revoked"])
            XCTAssertEqual(try store.auditEntries(AuditQuery()).map(\.action), ["key.create", "key.revoke", "key.create", "key.create", "key.create"],
                           "each create and revoke that changed something, none for those that did not")
            XCTAssertEqual(try store.revokeAPIKeys(named: "alice", at: .now(), audit: StoreContract.audit("key.revoke")), 1)
            XCTAssertEqual(try store.revokeAPIKeys(named: "brief", at: .now(), audit: StoreContract.audit("key.revoke")), 2)
            XCTAssertFalse(try store.hasActiveAPIKeys(at: .now()))
        }
    }

    /// Two stores on one database (a fleet) take the same name at once: one key gets it.
    func givesANameToOneActiveKey() throws {
        let stores = [try open(), try open()]
        defer { stores.forEach { $0.close() } }
        let created = Mutex(0)
        let now = Int64(Timestamp.now().microseconds / 1_000_000)
        runConcurrently(8) { index in
            let (key, _) = StoreContract.newKey("shared", at: now)
            if case .created? = try? stores[index % 2].createAPIKey(key, audit: StoreContract.audit("key.create")) { created.withLock { $0 += 1 } }
        }
        XCTAssertEqual(created.withLock { $0 }, 1)
    }

    func auditsWritesOnceWithTheirChange() throws {
        let stores = [try open(), try open()]
        defer { stores.forEach { $0.close() } }
        let ids = try (0..<3).map { _ in
            try stores[0].insertMessage(NewMessage(customerID: 1, body: "x", createdAt: .now(), urgency: 2, rulesVersion: "v", breakdown: .null))
        }
        let perThread = 20
        runConcurrently(6) { thread in
            let store = stores[thread % 2]
            for round in 0..<perThread {
                let id = ids[round % ids.count]
                let write: StoreWrite = round % 2 == 0
                    ? .reply(messageID: id, agentName: "agent-\(thread)", text: "r\(round)", at: .now())
                    : .assign(messageID: id, agent: "agent-\(thread)", at: .now())
                _ = try? store.perform(.audited(write, StoreContract.audit(round % 2 == 0 ? "message.reply" : "message.assign", actor: "agent-\(thread)", message: id)))
                _ = try? store.perform(.audited(.resolve(messageID: 999_999), StoreContract.audit("message.resolve", actor: "agent-\(thread)", message: 999_999)))
            }
        }
        let all = try stores[1].auditEntries(AuditQuery(limit: 1000))
        XCTAssertEqual(all.count, 6 * perThread, "one entry per change; none for the message that does not exist")
        for thread in 0..<6 {
            XCTAssertEqual(try stores[0].auditEntries(AuditQuery(limit: 1000, actor: "agent-\(thread)")).count, perThread)
        }
        XCTAssertEqual(try stores[0].auditEntries(AuditQuery(limit: 1000, messageID: ids[0])).count, all.filter { $0.messageID == ids[0] }.count)
        XCTAssertEqual(try stores[0].auditEntries(AuditQuery(limit: 1000, action: "message.reply")).count, 6 * perThread / 2)
        // Pages: newest first, `before` the last id seen.
        var seen: [Int64] = []
        var before: Int64?
        while true {
            let page = try stores[0].auditEntries(AuditQuery(before: before, limit: 7))
            if page.isEmpty { break }
            seen += page.map(\.id)
            before = page.last?.id
        }
        XCTAssertEqual(seen, all.map(\.id))
        XCTAssertEqual(seen, seen.sorted(by: >))
        let replies = try stores[0].message(id: ids[0])?.replies.count ?? 0
        XCTAssertEqual(try stores[0].auditEntries(AuditQuery(limit: 1000, messageID: ids[0], action: "message.reply")).count, replies)
    }
}
