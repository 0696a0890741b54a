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
    func testPaginatesEveryRowExactlyOnce() throws { try contract.paginatesEveryRowExactlyOnce() }
    func testKeepsRepliesInOrder() throws { try contract.keepsRepliesInOrder() }
    func testResolvesAssignsAndUnassigns() throws { try contract.resolvesAssignsAndUnassigns() }
    func testProfilesCustomers() throws { try contract.profilesCustomers() }
    func testImportsIdempotently() throws { try contract.importsIdempotently() }
    func testPersistsSettingsAndData() throws { try contract.persistsSettingsAndData() }
    func testLosesNothingUnderConcurrentWrites() throws { try contract.losesNothingUnderConcurrentWrites() }
    func testRecordsTheFleet() throws { try contract.recordsTheFleet() }
    func testRescoresInBatches() throws { try contract.rescoresInBatches() }

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

    /// A search the planner expects to match more than `countLimit` messages is not counted: its estimate comes
    /// instead. A rare term is still counted exactly.
    func testCommonSearchesGetAnEstimateInsteadOfACount() throws {
        let store = try PostgresStore(url: url)
        defer { store.close() }
        let common = (1...1500).map { index in
            NewMessage(customerID: Int64(index % 40 + 1), body: "Please refund batch \(index)", createdAt: .now(),
                       urgency: 3, rulesVersion: "v", breakdown: .null, importKey: "common-\(index)")
        }
        let rare = (1...3).map { index in
            NewMessage(customerID: 1, body: "A zebra crossing \(index)", createdAt: .now(), urgency: 2, rulesVersion: "v",
                       breakdown: .null, importKey: "rare-\(index)")
        }
        _ = try store.importMessages(common + rare)
        try store.refreshStatistics()

        var query = MessageQuery()
        query.search = "REFUND"
        let page = try store.messages(query)
        XCTAssertEqual(page.messages.count, 100)
        XCTAssertNil(page.total)
        let estimate = try XCTUnwrap(page.estimatedTotal)
        XCTAssertGreaterThan(estimate, PostgresStore.countLimit)
        XCTAssertLessThan(estimate, 3000)

        query.search = "zebra"
        let counted = try store.messages(query)
        XCTAssertEqual(counted.total, 3)
        XCTAssertNil(counted.estimatedTotal)
    }

    func testAnUnreachableServerIsAQuickStoreError() throws {
        let started = Date()
        XCTAssertThrowsError(try PostgresStore(url: "postgresql://nobody@127.0.0.1:1/none")) { error in
            XCTAssertTrue("\(error)".contains("cannot open the PostgreSQL database"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }
}
