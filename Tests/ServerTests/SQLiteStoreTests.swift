import Foundation
import XCTest
@testable import Server
import TestSupport

/// The store contract against SQLite (a real database file in a temporary directory).
final class SQLiteStoreTests: XCTestCase {
    private var directory: URL!

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-store-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private var contract: StoreContract {
        let path = directory.appendingPathComponent("store.db").path
        return StoreContract { try SQLiteStore(path: path) }
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

    func testSchemaVersionIsRecordedAndNewerDatabasesAreRefused() throws {
        let path = directory.appendingPathComponent("store.db").path
        try SQLiteStore(path: path).close()
        let connection = try SQLiteConnection(path: path, readOnly: false)
        XCTAssertEqual(try connection.scalar("PRAGMA user_version"), Int64(SQLiteSchema.migrations.count))
        XCTAssertEqual(try connection.scalar("PRAGMA journal_mode = WAL"), 0)  // 'wal' reads as text, not a number
        try connection.execute("PRAGMA user_version = 99")
        XCTAssertThrowsError(try SQLiteStore(path: path)) { error in
            XCTAssertTrue("\(error)".contains("newer than this program"), "\(error)")
        }
    }
}
