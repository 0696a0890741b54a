import Foundation
import XCTest
@testable import Server
import TestSupport

/// The store contract against PostgreSQL: a real server the tests start (initdb, pg_ctl), a fresh database
/// per test.
final class PostgresStoreTests: XCTestCase {
    private var url: String!

    override func setUpWithError() throws { url = try PostgresTestServer.shared().database() }

    private var contract: StoreContract {
        let url = url!
        return StoreContract { try PostgresStore(url: url) }
    }

    func testInsertsAndReadsBack() throws { try contract.insertsAndReadsBack() }
    func testKeepsHostileTextIntact() throws { try contract.keepsHostileTextIntact() }
    func testFiltersAndOrders() throws { try contract.filtersAndOrders() }
    func testSearchesCaseInsensitiveSubstrings() throws { try contract.searchesCaseInsensitiveSubstrings() }
    func testSearchesAgreeWithASubstringTestOnRandomText() throws { try contract.searchesAgreeWithASubstringTestOnRandomText() }
    func testPaginatesEveryRowExactlyOnce() throws { try contract.paginatesEveryRowExactlyOnce() }
    func testKeepsRepliesInOrder() throws { try contract.keepsRepliesInOrder() }
    func testResolvesAssignsAndUnassigns() throws { try contract.resolvesAssignsAndUnassigns() }
    func testProfilesCustomers() throws { try contract.profilesCustomers() }
    func testImportsIdempotently() throws { try contract.importsIdempotently() }
    func testPersistsSettingsAndData() throws { try contract.persistsSettingsAndData() }
    func testLosesNothingUnderConcurrentWrites() throws { try contract.losesNothingUnderConcurrentWrites() }
    func testRecordsTheFleet() throws { try contract.recordsTheFleet() }
    func testRescoresInBatches() throws { try contract.rescoresInBatches() }
    func testFeedsEveryChangeAsEvents() throws { try contract.feedsEveryChangeAsEvents() }
    func testFeedsConcurrentWritersExactlyOnce() throws { try contract.feedsConcurrentWritersExactlyOnce() }
    func testRecordsDeployments() throws { try contract.recordsDeployments() }
    func testKeepsFirstResponseTimes() throws { try contract.keepsFirstResponseTimes() }
    func testReportsEachOverdueMessageOnce() throws { try contract.reportsEachOverdueMessageOnce() }
    func testPaginatesByDueTime() throws { try contract.paginatesByDueTime() }
    func testPaginatesEveryStatusInEachOrder() throws { try contract.paginatesEveryStatusInEachOrder() }
    func testQueuesWebhookDeliveries() throws { try contract.queuesWebhookDeliveries() }
    func testClaimsEachWebhookDeliveryOnce() throws { try contract.claimsEachWebhookDeliveryOnce() }
    func testHoldsBackTheDeliveriesBehindARetry() throws { try contract.holdsBackTheDeliveriesBehindARetry() }
    func testQueuesRefinements() throws { try contract.queuesRefinements() }
    func testClaimsEachRefinementOnce() throws { try contract.claimsEachRefinementOnce() }
    func testStoresAPIKeys() throws { try contract.storesAPIKeys() }
    func testGivesANameToOneActiveKey() throws { try contract.givesANameToOneActiveKey() }
    func testAuditsWritesOnceWithTheirChange() throws { try contract.auditsWritesOnceWithTheirChange() }

    func testTheDatabaseHoldsOnlyTheKeysHashes() throws {
        let store = try PostgresStore(url: url)
        let secret = APIKeySecret()
        let audit = AuditEntry(at: .now(), actor: "test", role: "admin", address: "x", action: "key.create", detail: ["name": "alice"])
        _ = try store.createAPIKey(NewAPIKey(secret: secret, name: "alice", role: .agent, createdAt: .now(), createdBy: "test"), audit: audit)
        store.close()
        let connection = try PostgresConnection(url: url)
        // Every row of every table of the database, as text.
        let tables = try connection.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        var everything = ""
        for row in 0..<tables.count {
            let rows = try connection.query("SELECT t::text FROM \"\(tables.text(row, 0))\" t")
            for index in 0..<rows.count { everything += rows.text(index, 0) + "\n" }
        }
        XCTAssertFalse(everything.contains(secret.key), "the key itself is nowhere in the database")
        XCTAssertFalse(everything.contains(String(secret.key.dropFirst(8))), "nor its random part")
        XCTAssertTrue(everything.contains(APIKeySecret.hash(secret.key)), "its SHA-256 is")
    }

    func testTheAuditTrailIsAppendOnlyInTheDatabase() throws {
        let store = try PostgresStore(url: url)
        try store.recordAudit(AuditEntry(at: .now(), actor: "a", role: "admin", address: "x", action: "llm.toggle"))
        store.close()
        let connection = try PostgresConnection(url: url)
        XCTAssertThrowsError(try connection.execute("UPDATE audit_log SET actor = 'someone else'")) { XCTAssertTrue("\($0)".contains("append-only")) }
        XCTAssertThrowsError(try connection.execute("DELETE FROM audit_log")) { XCTAssertTrue("\($0)".contains("append-only")) }
        XCTAssertEqual(try connection.scalar("SELECT count(*) FROM audit_log WHERE actor = 'a'"), 1)
    }

    func testSchemaVersionIsRecordedAndNewerDatabasesAreRefused() throws {
        try PostgresStore(url: url).close()
        try PostgresStore(url: url).close()  // migrating twice is a no-op
        let connection = try PostgresConnection(url: url)
        XCTAssertEqual(try connection.scalar("SELECT max(version) FROM schema_migrations"), Int64(PostgresSchema.migrations.count))
        try connection.query("INSERT INTO schema_migrations(version) VALUES (999)")
        XCTAssertThrowsError(try PostgresStore(url: url)) { error in
            XCTAssertTrue("\(error)".contains("newer than this program"), "\(error)")
        }
    }

    func testSearchUsesTheTrigramIndex() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        let connection = try PostgresConnection(url: url)
        try connection.execute("SET enable_seqscan = off")
        let plan = try connection.query("EXPLAIN SELECT id FROM messages WHERE ascii_lower(body) LIKE '%loan%'")
        let text = (0..<plan.count).map { plan.text($0, 0) }.joined(separator: "\n")
        XCTAssertTrue(text.contains("messages_body_trigrams"), text)
        XCTAssertEqual(MessageQuery.likePattern("50%_Off\\ÄB"), "%50\\%\\_off\\\\Äb%")
    }

    /// A search the planner expects to match far more than `countLimit` messages is not counted: its estimate
    /// comes instead. One it expects to match fewer is counted, and when the count passes the limit the answer is
    /// an estimate too. A rare term is counted exactly.
    func testCommonSearchesGetAnEstimateInsteadOfACount() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        func messages(_ count: Int, _ body: String) -> [NewMessage] {
            (1...count).map { index in
                NewMessage(customerID: Int64(index % 40 + 1), body: "\(body) \(index)", createdAt: .now(), urgency: 3,
                           rulesVersion: "v", breakdown: .null, importKey: "\(body)-\(index)")
            }
        }
        _ = try store.importMessages(messages(12_000, "Please refund batch") + messages(1_500, "A voucher for")
                                     + messages(3, "A zebra crossing"))
        try store.refreshStatistics()

        var query = MessageQuery()
        query.search = "REFUND"  // planned far above the limit: not counted
        let common = try store.messages(query)
        XCTAssertEqual(common.messages.count, 100)
        XCTAssertNil(common.total)
        let estimate = try XCTUnwrap(common.estimatedTotal)
        XCTAssertGreaterThan(estimate, PostgresStore.estimateAbove)
        XCTAssertLessThan(estimate, 30_000)

        query.search = "voucher"  // planned below it: counted, past the limit, so an estimate of at least that
        let counted = try store.messages(query)
        XCTAssertNil(counted.total)
        XCTAssertGreaterThan(try XCTUnwrap(counted.estimatedTotal), PostgresStore.countLimit)

        query.search = "zebra"
        let rare = try store.messages(query)
        XCTAssertEqual(rare.total, 3)
        XCTAssertNil(rare.estimatedTotal)
    }

    func testAnUnreachableServerIsAQuickStoreError() throws {
        let started = Date()
        XCTAssertThrowsError(try PostgresStore(url: "postgresql://nobody@127.0.0.1:1/none")) { error in
            XCTAssertTrue("\(error)".contains("cannot open the PostgreSQL database"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }
}
