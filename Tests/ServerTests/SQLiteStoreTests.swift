import Foundation
import XCTest
@testable import Server
import Support
import Synchronization
import TestSupport

/// The store contract against SQLite (a real database file in a temporary directory).
final class SQLiteStoreTests: XCTestCase {
    private var directory: URL!

    /// The database file of the test, in its own directory.
    private var storePath: String { directory.appendingPathComponent("store.db").path }

    override func setUp() {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-store-\(UUID().uuidString)")
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private var contract: StoreContract {
        let path = storePath
        return StoreContract { try SQLiteStore(path: path) }
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

    func testTheAuditTrailIsAppendOnlyInTheDatabase() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)
        try store.recordAudit(AuditEntry(at: .now(), actor: "a", role: "admin", address: "x", action: "llm.toggle"))
        store.close()
        let connection = try SQLiteConnection(path: path, readOnly: false)
        XCTAssertThrowsError(try connection.execute("UPDATE audit_log SET actor = 'someone else'")) { XCTAssertTrue("\($0)".contains("append-only")) }
        XCTAssertThrowsError(try connection.execute("DELETE FROM audit_log")) { XCTAssertTrue("\($0)".contains("append-only")) }
        XCTAssertEqual(try connection.scalar("SELECT count(*) FROM audit_log WHERE actor = 'a'"), 1)
    }

    /// Waits until the background indexer has caught up with every message.
    private func waitForSearchIndex(_ path: String) throws {
        let connection = try SQLiteConnection(path: path, readOnly: true)
        try connection.query("ATTACH DATABASE ? AS search", [.text(SQLiteSearchIndex.path(forStore: path))])
        try waitUntil("the search index to catch up") {
            try connection.scalar("SELECT indexed_through FROM search.search_index_state")
                == (try connection.scalar("SELECT COALESCE(MAX(id), 0) FROM messages"))
        }
    }

    func testSearchUsesTheTrigramIndexAndTheUnindexedTail() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)  // creates its directory
        defer { store.close() }
        func insert(_ body: String) throws -> Int64 {
            try store.insertMessage(NewMessage(customerID: 1, body: body, createdAt: .now(), urgency: 3, rulesVersion: "v",
                                               breakdown: .null))
        }
        let indexed = try insert("Indexed LOAN message")
        _ = try insert("unrelated")
        try waitForSearchIndex(path)
        let tail = try insert("a fresh loan question")  // probably not indexed yet; found by the tail scan either way
        var query = MessageQuery()
        query.search = "loan"
        let page = try store.messages(query)
        XCTAssertEqual(Set(page.messages.map(\.id)), [indexed, tail])
        XCTAssertEqual(page.total, 2)
        try waitForSearchIndex(path)
        XCTAssertEqual(Set(try store.messages(query).messages.map(\.id)), [indexed, tail])
    }

    private func search(_ store: SQLiteStore, _ text: String) throws -> Set<Int64> {
        var query = MessageQuery()
        query.search = text
        return Set(try store.messages(query).messages.map(\.id))
    }

    /// The index lives in a file of its own, beside the store's, and the store's file has none.
    func testTheSearchIndexIsAFileOfItsOwn() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        let id = try store.insertMessage(NewMessage(customerID: 1, body: "a loan question", createdAt: .now(), urgency: 3,
                                                    rulesVersion: "v", breakdown: .null))
        try waitForSearchIndex(path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: SQLiteSearchIndex.path(forStore: path)))
        let connection = try SQLiteConnection(path: path, readOnly: true)
        XCTAssertEqual(try connection.scalar("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'messages_fts%' OR name = 'search_index_state'"), 0)
        try connection.query("ATTACH DATABASE ? AS search", [.text(SQLiteSearchIndex.path(forStore: path))])
        XCTAssertEqual(try connection.scalar("SELECT rowid FROM search.messages_fts WHERE messages_fts MATCH '\"loa\" AND \"oan\"'"), id)
    }

    /// An index file left from another store at the same path (its database deleted and made again) is emptied
    /// and built again: its watermark would otherwise hide the new messages from searches.
    func testAnIndexOfAnotherStoreIsBuiltAgain() throws {
        let path = storePath
        var store = try SQLiteStore(path: path)
        for body in ["old one", "old two", "old three"] {
            _ = try store.insertMessage(NewMessage(customerID: 1, body: body, createdAt: .now(), urgency: 3, rulesVersion: "v",
                                                   breakdown: .null))
        }
        try waitForSearchIndex(path)
        store.close()
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        store = try SQLiteStore(path: path)
        defer { store.close() }
        let id = try store.insertMessage(NewMessage(customerID: 1, body: "brand new fraud report", createdAt: .now(), urgency: 5,
                                                    rulesVersion: "v", breakdown: .null))
        XCTAssertEqual(try search(store, "fraud"), [id])
        try waitForSearchIndex(path)
        XCTAssertEqual(try search(store, "fraud"), [id])
        XCTAssertEqual(try search(store, "old"), [])
    }

    /// A store made before the index had a file of its own (the index inside it) moves it out: the old tables go,
    /// the new index is built from the messages, and searches find them all along.
    func testAStoreWithTheIndexInsideIsUpgraded() throws {
        let path = storePath
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let old = try SQLiteConnection(path: path, readOnly: false)
        try old.execute("PRAGMA journal_mode = WAL")
        for (version, migration) in SQLiteSchema.migrations.prefix(8).enumerated() {  // the index inside, up to version 8
            try old.execute(migration)
            try old.execute("PRAGMA user_version = \(version + 1)")
        }
        try old.execute("INSERT INTO customers(id) VALUES (1)")
        for n in 1...2_500 {
            try old.query("INSERT INTO messages(customer_id, body, created_at, urgency, rules_version, breakdown) VALUES (1, ?, 0, 3, 'v', '{}')",
                          [.text(n % 1000 == 0 ? "needle \(n)" : "hay \(n)")])
        }
        try old.execute("INSERT INTO messages_fts(rowid, body) SELECT id, body FROM messages WHERE id <= 2000")
        try old.execute("UPDATE search_index_state SET indexed_through = 2000")
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        XCTAssertEqual(try search(store, "needle"), [1000, 2000])
        try waitForSearchIndex(path)
        XCTAssertEqual(try search(store, "needle"), [1000, 2000])
        XCTAssertEqual(try old.scalar("SELECT count(*) FROM sqlite_schema WHERE name LIKE 'messages_fts%' OR name = 'search_index_state'"), 0)
    }

    /// Closing the index while its thread reads the store (it does so without the lock) returns: the thread sees
    /// that it is stopping before it waits for work. It used to wait for ever, and `close` with it (a `make test`
    /// run hung in a store's close).
    func testClosingTheIndexWhileItReadsTheStoreReturns() throws {
        let path = storePath
        try SQLiteStore(path: path).close()
        let connection = try SQLiteConnection(path: path, readOnly: true)
        var key = ""
        try connection.query("SELECT value FROM settings WHERE key = 'search_index_key'") { key = $0.text(0) }
        let reading = DispatchSemaphore(value: 0), resume = DispatchSemaphore(value: 0)
        let first = Mutex(true)
        // The thread reads the store as it starts: held there the first time, until close has begun.
        let index = try SQLiteSearchIndex(storePath: path, storeKey: key, afterReadingTheStore: {
            let isFirst = first.withLock { value -> Bool in
                defer { value = false }
                return value
            }
            guard isFirst else { return }
            reading.signal()
            resume.wait()
        })
        XCTAssertEqual(reading.wait(timeout: .now() + 10), .success, "the index's thread read the store")
        let closed = Mutex(false)
        Thread.detachNewThread {
            index.close()
            closed.withLock { $0 = true }
        }
        try waitUntil("close to begin") { index.isStopping }
        resume.signal()
        try waitUntil("close to return") { closed.withLock { $0 } }
    }

    /// An index file of the earlier layout (positions kept, searched by phrase) is dropped, compacted and built
    /// again with trigrams alone; searches find every message all along.
    func testAnIndexOfTheEarlierLayoutIsBuiltAgain() throws {
        let path = storePath, indexPath = SQLiteSearchIndex.path(forStore: path)
        var store = try SQLiteStore(path: path)
        var needles: Set<Int64> = []
        for n in 1...3_000 {
            let id = try store.insertMessage(NewMessage(customerID: 1, body: n % 1000 == 0 ? "needle \(n)" : "hay \(n) \(String(repeating: "filler ", count: 20))",
                                                        createdAt: .now(), urgency: 3, rulesVersion: "v", breakdown: .null))
            if n % 1000 == 0 { needles.insert(id) }
        }
        try waitForSearchIndex(path)
        store.close()
        let earlier = try SQLiteConnection(path: indexPath, readOnly: false)
        try earlier.execute("""
            DROP TABLE messages_fts;
            CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='', tokenize='trigram');
            PRAGMA user_version = 2;
            """)
        try earlier.query("ATTACH DATABASE ? AS store", [.text(path)])
        try earlier.execute("INSERT INTO messages_fts(rowid, body) SELECT id, body FROM store.messages; DETACH DATABASE store")
        let earlierPages = try earlier.scalar("PRAGMA page_count")
        store = try SQLiteStore(path: path)
        defer { store.close() }
        XCTAssertEqual(try search(store, "needle"), needles)
        try waitForSearchIndex(path)
        XCTAssertEqual(try search(store, "needle"), needles)
        XCTAssertEqual(try earlier.scalar("PRAGMA user_version"), SQLiteSearchIndex.layout)
        var table = ""
        try earlier.query("SELECT sql FROM sqlite_schema WHERE name = 'messages_fts'") { table = $0.text(0) }
        XCTAssertTrue(table.contains("detail=none"), table)
        XCTAssertLessThan(try earlier.scalar("PRAGMA page_count"), earlierPages, "the dropped index's pages are given back")
    }

    /// The index is asked for every trigram of a search, in any order and place; the listing keeps only the
    /// messages that hold the text itself, as written, whatever quotes or characters it has.
    func testSearchCandidatesAreNarrowedToTheText() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        func insert(_ body: String) throws -> Int64 {
            try store.insertMessage(NewMessage(customerID: 1, body: body, createdAt: .now(), urgency: 3, rulesVersion: "v",
                                               breakdown: .null))
        }
        let scattered = try insert("bcd then abc")  // every trigram of "abcd", never in a row
        let whole = try insert("xxABCDxx")
        let quoted = try insert(#"she said "stop" twice"#)
        let marked = try insert("a \"\u{301}x mark")  // a quote with a combining mark: one Character, two scalars
        let accented = try insert("Zahlung für Kredit fehlgeschlagen")
        let long = try insert(String(repeating: "0123456789", count: 30) + " tail")
        let ideographs = String((0..<300).map { Character(UnicodeScalar(0x4E00 + $0)!) })  // 298 distinct trigrams
        let wide = try insert(ideographs + "!")
        try waitForSearchIndex(path)
        // "abcd": the index offers both (its candidates), the text test keeps one, and the total is counted (so the
        // index was read: a search it cannot narrow is not counted)
        let connection = try SQLiteConnection(path: path, readOnly: true)
        try connection.query("ATTACH DATABASE ? AS search", [.text(SQLiteSearchIndex.path(forStore: path))])
        var candidates: Set<Int64> = []
        try connection.query("SELECT rowid FROM search.messages_fts WHERE messages_fts MATCH ?",
                             [.text(try XCTUnwrap(SQLiteSearchIndex.matchExpression(for: "abcd")))]) { candidates.insert($0.integer(0)) }
        XCTAssertEqual(candidates, [scattered, whole])
        var query = MessageQuery()
        query.search = "abcd"
        let page = try store.messages(query)
        XCTAssertEqual(page.messages.map(\.id), [whole])
        XCTAssertEqual(page.total, 1)
        XCTAssertEqual(try search(store, #""stop""#), [quoted])
        XCTAssertEqual(try search(store, #"d "st"#), [quoted])
        XCTAssertEqual(try search(store, "\"\u{301}x"), [marked])
        XCTAssertEqual(try search(store, "für Kre"), [accented])
        XCTAssertEqual(try search(store, String(repeating: "0123456789", count: 30)), [long])
        XCTAssertEqual(try search(store, String(repeating: "0123456789", count: 29) + "x"), [])
        XCTAssertEqual(try search(store, ideographs), [wide])  // past the cap of trigrams looked up
        XCTAssertEqual(try search(store, String(ideographs.dropLast()) + "?"), [])
        XCTAssertNil(SQLiteSearchIndex.matchExpression(for: "ab"))
        XCTAssertNil(SQLiteSearchIndex.matchExpression(for: "ab\u{0}cd"))
        XCTAssertEqual(SQLiteSearchIndex.matchExpression(for: #"a"bc"#), #""a""b" AND """bc""#)
        XCTAssertEqual(SQLiteSearchIndex.matchExpression(for: "\"\u{301}x"), "\"\"\"\u{301}x\"")
        XCTAssertEqual(SQLiteSearchIndex.matchExpression(for: "aaaaa"), #""aaa""#)
        XCTAssertEqual(SQLiteSearchIndex.matchExpression(for: ideographs)?.components(separatedBy: " AND ").count,
                       SQLiteSearchIndex.maximumTerms)
    }

    /// A backup of the store restored beside a newer index (or a power cut that lost commits the index kept): the
    /// index's watermark is past the store's messages, or on a message that is not the one it indexed. It is built
    /// again; otherwise the new messages under the watermark would never be searchable.
    func testAnIndexAheadOfItsStoreIsBuiltAgain() throws {
        let path = storePath, backup = directory.appendingPathComponent("backup.db").path
        func copy(_ from: String, _ to: String) throws {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: to + suffix) }
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: from + suffix) {
                try FileManager.default.copyItem(atPath: from + suffix, toPath: to + suffix)
            }
        }
        do {
            let store = try SQLiteStore(path: path)
            _ = try store.insertMessage(NewMessage(customerID: 1, body: "first", createdAt: .now(), urgency: 3, rulesVersion: "v",
                                                   breakdown: .null))
            store.close()
        }
        try copy(path, backup)
        do {
            let store = try SQLiteStore(path: path)
            for n in 2...5 {
                _ = try store.insertMessage(NewMessage(customerID: 1, body: "later \(n)", createdAt: .now(), urgency: 3,
                                                       rulesVersion: "v", breakdown: .null))
            }
            try waitForSearchIndex(path)
            store.close()
        }
        try copy(backup, path)  // the backup restored; the index file is the newer one
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        var ids: [Int64] = []
        for body in ["restored fraud one", "restored fraud two", "restored fraud three", "restored fraud four"] {
            ids.append(try store.insertMessage(NewMessage(customerID: 1, body: body, createdAt: .now(), urgency: 5,
                                                          rulesVersion: "v", breakdown: .null)))
        }
        XCTAssertEqual(ids, [2, 3, 4, 5])  // the ids the index had given to other messages
        XCTAssertEqual(try search(store, "fraud"), Set(ids))
        try waitForSearchIndex(path)
        XCTAssertEqual(try search(store, "fraud"), Set(ids))
        XCTAssertEqual(try search(store, "later"), [])
    }

    /// An index file that is not a database is made again; one that cannot be read by a reader (removed under a
    /// running server) leaves searches complete, by scanning.
    func testAnUnreadableIndexFileIsNotTheStoresProblem() throws {
        let path = storePath
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("not a database, not an index".utf8).write(to: URL(fileURLWithPath: SQLiteSearchIndex.path(forStore: path)))
        let store = try SQLiteStore(path: path)
        defer { store.close() }
        let id = try store.insertMessage(NewMessage(customerID: 1, body: "a stolen phone", createdAt: .now(), urgency: 5,
                                                    rulesVersion: "v", breakdown: .null))
        try waitForSearchIndex(path)
        XCTAssertEqual(try search(store, "stolen"), [id])
        let readers = SQLiteReaderPool(path: path, searchIndexPath: directory.appendingPathComponent("gone.search").path)
        defer { readers.close() }
        let terms = try XCTUnwrap(SQLiteSearchIndex.matchExpression(for: "stolen"))
        let found = try readers.read { connection throws(SQLiteError) in
            try connection.scalar("""
                SELECT count(*) FROM (SELECT rowid AS candidate FROM messages_fts WHERE messages_fts MATCH ?
                UNION ALL SELECT id FROM messages WHERE id > (SELECT indexed_through FROM search_index_state))
                CROSS JOIN messages ON messages.id = candidate WHERE body LIKE '%stolen%'
                """, [.text(terms)])
        }
        XCTAssertEqual(found, 1)
    }

    /// Two stores on one file (as two servers sharing it) index it one after the other: every message once, none
    /// missed, while both write.
    func testTwoStoresShareTheIndex() throws {
        let path = storePath
        let first = try SQLiteStore(path: path)
        let second = try SQLiteStore(path: path)
        defer {
            first.close()
            second.close()
        }
        for n in 1...3000 {
            let store = n % 2 == 0 ? first : second
            _ = try store.insertMessage(NewMessage(customerID: 1, body: n % 500 == 0 ? "needle \(n)" : "hay \(n)", createdAt: .now(),
                                                   urgency: 3, rulesVersion: "v", breakdown: .null))
        }
        try waitForSearchIndex(path)
        let connection = try SQLiteConnection(path: SQLiteSearchIndex.path(forStore: path), readOnly: true)
        XCTAssertEqual(try connection.scalar("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH '\"hay\"'"), 2994)
        XCTAssertEqual(try search(first, "needle"), Set([500, 1000, 1500, 2000, 2500, 3000].map(Int64.init)))
        XCTAssertEqual(try search(second, "needle"), Set([500, 1000, 1500, 2000, 2500, 3000].map(Int64.init)))
    }

    /// The overdue check runs on the writer once a second: it must read the overdue messages only, through the
    /// indexes made for it, not every open message (which stalled every write for ~1 ms per 1,000 messages).
    func testOverdueQueriesReadOnlyTheirIndexes() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)  // creates its directory
        defer { store.close() }
        let now = Timestamp.now()
        for i in 0..<300 {  // due in the past and in the future: rows the planner must weigh
            let due = Timestamp(microseconds: now.microseconds + Int64(i % 7 - 3) * 3_600_000_000)
            _ = try store.insertMessage(NewMessage(customerID: Int64(i % 5 + 1), body: "message \(i)", createdAt: now,
                                                   urgency: Double(i % 5 + 1), rulesVersion: "v", breakdown: .null,
                                                   responseDue: due))
        }
        let connection = try SQLiteConnection(path: path, readOnly: true)
        func plan(_ sql: String, _ values: [SQLiteValue]) throws -> String {
            var steps: [String] = []
            try connection.query("EXPLAIN QUERY PLAN " + sql, values) { steps.append($0.text(3)) }
            return steps.joined(separator: "; ")
        }
        let report = try plan(SQLiteStore.overdueToReportSQL, [.integer(now.microseconds), .integer(1000)])
        XCTAssertTrue(report.contains("USING INDEX messages_overdue (first_response_due"), report)
        XCTAssertFalse(report.contains("TEMP B-TREE"), report)
        let count = try plan(SQLiteStore.overdueCountSQL, [.integer(now.microseconds)])
        XCTAssertTrue(count.contains("messages_status_due (status=? AND <expr><?)"), count)
        // And they answer what they claim: 3 of every 7 messages are past due (none answered, none reported).
        let overdue = (0..<300).filter { $0 % 7 - 3 < 0 }.count
        XCTAssertEqual(try store.overdueCount(now: now), overdue)
        XCTAssertEqual(try store.reportOverdue(now: now, limit: 1000), overdue)
        XCTAssertEqual(try store.reportOverdue(now: now, limit: 1000), 0, "each is reported once")
        XCTAssertEqual(try store.overdueCount(now: now), overdue, "reported or not, they are still overdue")
    }

    /// Each listing's statements read through the index made for them (SQLite keeps no statistics, and its
    /// planner had walked a status index over every open message for overdue, customer and `since_id`
    /// listings, and from the start of the `due` order for every later page: up to 2 s at 1,000,000 messages).
    func testListingsReadThroughTheirIndexes() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)  // creates its directory
        defer { store.close() }
        let now = Timestamp.now()
        let count = Int(SQLiteStore.recentWindow) + 500  // wider than the `since_id` window read by id
        var batch: [NewMessage] = []
        for i in 0..<count {
            let due = Timestamp(microseconds: now.microseconds + Int64(i % 7 - 3) * 3_600_000_000)
            batch.append(NewMessage(customerID: Int64(i % 50 + 1), body: "message \(i)", createdAt: now, urgency: Double(i % 5 + 1),
                                    rulesVersion: "v", breakdown: .null, importKey: "k\(i)", responseDue: due))
        }
        _ = try store.importMessages(batch)
        let connection = try SQLiteConnection(path: path, readOnly: true)
        func plans(_ query: MessageQuery) throws -> (total: String, page: String) {
            let statements = try SQLiteStore.listing(query, connection)
            func plan(_ sql: String, _ values: [SQLiteValue]) throws -> String {
                var steps: [String] = []
                try connection.query("EXPLAIN QUERY PLAN " + sql, values) { steps.append($0.text(3)) }
                return steps.joined(separator: "; ")
            }
            return (try statements.total.map { try plan($0.sql, $0.values) } ?? "", try plan(statements.page.sql, statements.page.values))
        }
        var overdue = MessageQuery()
        overdue.overdueAt = now
        for sort in [MessageQuery.Sort.due, .urgency, .time] {
            overdue.sort = sort
            let plan = try plans(overdue)
            XCTAssertTrue(plan.page.contains("messages_status_due (status=? AND <expr><?)"), "\(sort): \(plan.page)")
            XCTAssertTrue(plan.total.contains("messages_status_due (status=? AND <expr><?)"), plan.total)
        }
        var customer = MessageQuery()
        customer.customerID = 7
        for sort in [MessageQuery.Sort.urgency, .due, .time] {
            customer.sort = sort
            let plan = try plans(customer)
            XCTAssertTrue(plan.page.contains("messages_customer (customer_id=?)"), "\(sort): \(plan.page)")
        }
        var recent = MessageQuery()
        recent.sinceID = Int64(count - 20)
        for status in [MessageQuery.StatusFilter.open, .all] {
            recent.status = status
            let plan = try plans(recent)
            XCTAssertTrue(plan.page.contains("INTEGER PRIMARY KEY (rowid>?)"), "\(status): \(plan.page)")
            XCTAssertTrue(plan.total.contains("INTEGER PRIMARY KEY (rowid>?)"), "\(status): \(plan.total)")
        }
        recent.sinceID = 0  // most messages qualify: the sort index is walked, both statuses merged
        recent.status = .all
        let wide = try plans(recent).page
        XCTAssertTrue(wide.contains("MERGE"), wide)
        var later = MessageQuery()
        later.sort = .due
        later.after = PageCursor(sort: .due, urgency: 3, createdAt: now, id: 5000, dueKey: now.microseconds)
        let laterPage = try plans(later).page
        XCTAssertTrue(laterPage.contains("messages_status_due (status=? AND <expr>>?)"), laterPage)
        var rescore: [String] = []
        try connection.query("EXPLAIN QUERY PLAN " + SQLiteStore.rescoreBatchSQL(filtered: true), [.integer(0), .text("open"), .integer(500)]) {
            rescore.append($0.text(3))
        }
        XCTAssertEqual(rescore, ["SEARCH messages USING INTEGER PRIMARY KEY (rowid>?)"])
        // And they answer as before: the listings' contents are the store contract's (StoreContractTests).
        XCTAssertEqual(try store.messages(overdue).total, (0..<count).filter { $0 % 7 - 3 < 0 }.count)
        recent.sinceID = Int64(count - 20)
        XCTAssertEqual(try store.messages(recent).messages.map(\.id).sorted(), Array(Int64(count - 19)...Int64(count)))
    }

    func testVeryCommonSearchesArePagedWithoutAnExactTotal() throws {
        let path = storePath
        let store = try SQLiteStore(path: path)  // creates its directory
        defer { store.close() }
        let count = SQLiteStore.searchCandidateLimit + 200
        var batch: [NewMessage] = []
        for i in 0..<count {
            let body: String = i % 2 == 0 ? "loan number \(i)" : "LOAN \(i) and more"
            batch.append(NewMessage(customerID: Int64(i % 7 + 1), body: body, createdAt: .now(), urgency: Double(i % 5 + 1),
                                    rulesVersion: "v", breakdown: .null, importKey: "k\(i)"))
        }
        _ = try store.importMessages(batch)
        try waitForSearchIndex(path)
        var query = MessageQuery()
        query.search = "loan"
        query.limit = 1000
        var seen = Set<Int64>()
        repeat {
            let page = try store.messages(query)
            XCTAssertNil(page.total)
            seen.formUnion(page.messages.map(\.id))
            query.after = page.next
        } while query.after != nil
        XCTAssertEqual(seen.count, count)
        query = MessageQuery()
        query.search = "number 4"  // rarer: counted exactly
        query.limit = 1000
        let rare = try store.messages(query)
        XCTAssertNil(rare.next)
        XCTAssertEqual(rare.total, rare.messages.count)
        XCTAssertTrue(rare.messages.allSatisfy { $0.body.lowercased().contains("number 4") })
    }

    func testSchemaVersionIsRecordedAndNewerDatabasesAreRefused() throws {
        let path = storePath
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
