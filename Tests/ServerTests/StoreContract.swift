import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// What every Store must do, role by role (tickets, import, rescore, settings, fleet), written against the
/// protocols: each backend's test class runs every case.
struct StoreContract {
    /// Opens the store under test; calling it again reopens the same database.
    let open: () throws -> any Store

    private static func message(_ customer: Int64, _ body: String, urgency: Double, at seconds: Int64, key: String? = nil) -> NewMessage {
        NewMessage(customerID: customer, body: body, createdAt: Timestamp(microseconds: seconds * 1_000_000), urgency: urgency,
                   rulesVersion: "abc123", breakdown: ["urgency": .number(urgency), "tier": ["name": "high"]], importKey: key)
    }

    private func message(_ customer: Int64, _ body: String, urgency: Double, at seconds: Int64, key: String? = nil) -> NewMessage {
        StoreContract.message(customer, body, urgency: urgency, at: seconds, key: key)
    }

    func withStore(_ body: (any Store) throws -> Void) throws {
        let store = try open()
        defer { store.close() }
        try body(store)
    }

    func insertsAndReadsBack() throws {
        try withStore { store in
            let new = message(42, "Why was my loan rejected? 🙏 ünïcode", urgency: 4.5, at: 1_700_000_000)
            let id = try store.insertMessage(new)
            XCTAssertGreaterThan(id, 0)
            let stored = try XCTUnwrap(try store.message(id: id))
            XCTAssertEqual(stored.customerID, 42)
            XCTAssertEqual(stored.body, new.body)
            XCTAssertEqual(stored.urgency, 4.5)
            XCTAssertEqual(stored.status, .open)
            XCTAssertEqual(stored.createdAt, new.createdAt)
            XCTAssertNil(stored.assignedTo)
            XCTAssertEqual(stored.rulesVersion, "abc123")
            XCTAssertEqual(stored.breakdown, new.breakdown)
            XCTAssertNil(try store.message(id: id + 1000))
            let second = try store.insertMessage(message(42, "again", urgency: 1, at: 1_700_000_001))
            XCTAssertGreaterThan(second, id)
        }
    }

    func keepsHostileTextIntact() throws {
        try withStore { store in
            for text in ["'; DROP TABLE messages; --", "\"quoted\" %wild_card% \\ back", "עברית RTL ‏mixed", "emoji 😡🙏🏽 zwj 👨‍👩‍👧",
                         String(repeating: "long ", count: 20_000)] {
                let id = try store.insertMessage(message(7, text, urgency: 2, at: 1))
                XCTAssertEqual(try store.message(id: id)?.body, text)
            }
            XCTAssertEqual(try store.messages(MessageQuery()).total, 5)
        }
    }

    func filtersAndOrders() throws {
        try withStore { store in
            let a = try store.insertMessage(message(1, "alpha", urgency: 3, at: 100))
            let b = try store.insertMessage(message(2, "beta", urgency: 5, at: 50))
            let c = try store.insertMessage(message(1, "gamma", urgency: 5, at: 200))
            let d = try store.insertMessage(message(3, "delta", urgency: 1, at: 300))
            XCTAssertTrue(try store.resolve(messageID: d))
            var query = MessageQuery()
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [c, b, a])  // urgency desc, then newest
            query.sort = .time
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [c, a, b])
            query.status = .resolved
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [d])
            query.status = .all
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [d, c, a, b])
            XCTAssertEqual(try store.messages(query).total, 4)
            query.customerID = 1
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [c, a])
            XCTAssertEqual(try store.messages(query).total, 2)
            query.customerID = nil
            query.sinceID = b
            XCTAssertEqual(Set(try store.messages(query).messages.map(\.id)), [c, d])
            XCTAssertEqual(try store.messages(query).total, 2)
        }
    }

    func searchesCaseInsensitiveSubstrings() throws {
        try withStore { store in
            let loan = try store.insertMessage(message(1, "My LOAN was rejected", urgency: 4, at: 1))
            let unloaned = try store.insertMessage(message(2, "the unloaned amount", urgency: 2, at: 2))
            let quoted = try store.insertMessage(message(3, "he said \"50% off\" o_o", urgency: 1, at: 3))
            _ = try store.insertMessage(message(4, "nothing here", urgency: 1, at: 4))
            let path = try store.insertMessage(message(5, "see C:\\Temp\\ÄRGER.txt", urgency: 1, at: 5))
            var query = MessageQuery()
            query.search = "c:\\tEMP\\"
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [path])
            query.search = "ärger"  // only ASCII letters fold, as in the seed's SQLite
            XCTAssertEqual(try store.messages(query).messages, [])
            query.search = "ÄRGER"
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [path])
            query.search = "loan"
            XCTAssertEqual(Set(try store.messages(query).messages.map(\.id)), [loan, unloaned])
            XCTAssertEqual(try store.messages(query).total, 2)
            query.search = "LoAn WaS"
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [loan])
            query.search = "\"50% off\""
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [quoted])
            query.search = "o_o"
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [quoted])
            query.search = "%"
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [quoted])
            query.search = "') OR 1=1 --"
            XCTAssertEqual(try store.messages(query).messages, [])
            query.search = "zzz"
            XCTAssertEqual(try store.messages(query).total, 0)
        }
    }

    /// Searches agree with the plain definition, a substring test with ASCII letters folded, on random text made of
    /// the pieces that have bitten search code: quotes and backslashes before combining marks, LIKE's and the
    /// index query language's own characters and words, letters whose case folds outside ASCII, emoji sequences,
    /// CR LF. Before the search index has caught up and after (on SQLite the index supplies the candidates then).
    func searchesAgreeWithASubstringTestOnRandomText() throws {
        let pieces = ["a", "b", "c", "A", "B", "C", "ab", " ", "\"", "\u{301}", "%", "_", "\\", "*", "^", "(", ")", ":", "-",
                      "+", "'", "NEAR", "AND", "OR", "NOT", "ß", "İ", "ı", "é", "e\u{301}", "🙏", "中", "文", "\r\n", "\t",
                      "😀\u{200D}😀", "\"\u{301}", "\\\u{301}"]
        var random = SeededGenerator(seed: 0x5EA4C4)
        func text(_ count: Int) -> String { (0..<count).map { _ in pieces[Int.random(in: 0..<pieces.count, using: &random)] }.joined() }
        func folded(_ string: String) -> [UInt8] { string.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 } }
        func contains(_ body: [UInt8], _ part: [UInt8]) -> Bool {
            body.count >= part.count && (0...(body.count - part.count)).contains { body[$0..<$0 + part.count].elementsEqual(part) }
        }
        try withStore { store in
            var bodies: [Int64: [UInt8]] = [:]
            var texts: [String] = []
            for index in 0..<200 {
                let body = text(Int.random(in: 1...12, using: &random))
                texts.append(body)
                bodies[try store.insertMessage(message(Int64(index % 7 + 1), body, urgency: 3, at: Int64(index)))] = folded(body)
            }
            var searches: [String] = []
            for index in 0..<160 {
                if index % 2 == 0 {
                    let scalars = Array(texts[Int.random(in: 0..<texts.count, using: &random)].unicodeScalars)
                    let start = Int.random(in: 0..<scalars.count, using: &random)
                    let length = Int.random(in: 1...min(8, scalars.count - start), using: &random)
                    var part = String.UnicodeScalarView()
                    part.append(contentsOf: scalars[start..<start + length])
                    searches.append(String(part))
                } else {
                    searches.append(text(Int.random(in: 1...5, using: &random)))
                }
            }
            func check() throws {
                for search in searches {
                    var query = MessageQuery()
                    query.search = search
                    query.limit = 1000
                    let expected = Set(bodies.filter { contains($0.value, folded(search)) }.keys)
                    let page = try store.messages(query)
                    XCTAssertEqual(Set(page.messages.map(\.id)), expected, "search \(search.unicodeScalars.map { String($0.value, radix: 16) })")
                    if let total = page.total { XCTAssertEqual(total, expected.count, "search \(search.debugDescription)") }
                }
            }
            try check()
            try waitUntil("the search index to catch up") { store.searchIndexBacklog == 0 }
            try check()
        }
    }

    /// Every message of `query`'s listing, read 7 at a time by following each page's cursor (at most 100 pages),
    /// each page checked for its size and the total.
    private func pages(of query: MessageQuery, in store: any Store, total: Int) throws -> [Message] {
        var query = query
        query.limit = 7
        var seen: [Message] = []
        var pages = 0
        repeat {
            let page = try store.messages(query)
            XCTAssertEqual(page.total, total)
            XCTAssertLessThanOrEqual(page.messages.count, 7)
            seen += page.messages
            query.after = page.next
            pages += 1
        } while query.after != nil && pages < 100
        return seen
    }

    func paginatesEveryRowExactlyOnce() throws {
        try withStore { store in
            var ids: [Int64] = []
            for i in 0..<230 {
                ids.append(try store.insertMessage(message(Int64(i % 9 + 1), "message \(i)", urgency: Double(i % 5) + 1, at: Int64(i % 17))))
            }
            for sort in [MessageQuery.Sort.urgency, .time] {
                var query = MessageQuery()
                query.sort = sort
                let seen = try pages(of: query, in: store, total: 230)
                XCTAssertEqual(seen.map(\.id).sorted(), ids.sorted(), "\(sort)")
                let keys = seen.map { sort == .urgency ? [$0.urgency, Double($0.createdAt.microseconds), Double($0.id)]
                                                      : [Double($0.createdAt.microseconds), Double($0.id)] }
                XCTAssertEqual(keys, keys.sorted { $0.lexicographicallyPrecedes($1) }.reversed(), "\(sort) order")
            }
        }
    }

    /// Listing every status, in each order: open and resolved messages interleaved in the order's keys, paged
    /// through, every message once and in order (the stores merge a walk per status, or walk one index).
    func paginatesEveryStatusInEachOrder() throws {
        try withStore { store in
            var expected: [Message] = []
            for i in 0..<150 {
                let due = i % 4 == 0 ? nil : Timestamp(microseconds: Int64(1_000 + (i * 37) % 61) * 1_000_000)
                let new = NewMessage(customerID: Int64(i % 7 + 1), body: "message \(i)", createdAt: Timestamp(microseconds: Int64(i % 13) * 1_000_000),
                                     urgency: Double(i % 5) + 1 + Double(i % 3) / 100, rulesVersion: "v", breakdown: .null, responseDue: due)
                let id = try store.insertMessage(new)
                if i % 3 == 0 { XCTAssertTrue(try store.resolve(messageID: id)) }
                if i % 10 == 1 { XCTAssertTrue(try store.addReply(messageID: id, agentName: "Ann", text: "on it", at: Timestamp(microseconds: 5))) }
                expected.append(try XCTUnwrap(try store.message(id: id)))
            }
            for sort in [MessageQuery.Sort.urgency, .time, .due] {
                var query = MessageQuery()
                query.status = .all
                query.sort = sort
                let seen = try pages(of: query, in: store, total: 150)
                func key(_ message: Message) -> [Int64] {
                    switch sort {
                    case .urgency: [-Int64((message.urgency * 100).rounded()), -message.createdAt.microseconds, -message.id]
                    case .time: [-message.createdAt.microseconds, -message.id]
                    case .due: [PageCursor.dueKey(of: message), message.id]
                    }
                }
                let order = expected.sorted { key($0).lexicographicallyPrecedes(key($1)) }.map(\.id)
                XCTAssertEqual(seen.map(\.id), order, "\(sort)")
                XCTAssertEqual(Set(seen.map(\.status)), [.open, .resolved], "\(sort)")
            }
        }
    }

    func keepsRepliesInOrder() throws {
        try withStore { store in
            let id = try store.insertMessage(message(1, "help", urgency: 3, at: 1))
            XCTAssertTrue(try store.addReply(messageID: id, agentName: "Ann", text: "first", at: Timestamp(microseconds: 10)))
            XCTAssertTrue(try store.addReply(messageID: id, agentName: "Bob", text: "second", at: Timestamp(microseconds: 20)))
            XCTAssertFalse(try store.addReply(messageID: id + 99, agentName: "Eve", text: "lost", at: Timestamp(microseconds: 30)))
            XCTAssertEqual(try store.message(id: id)?.replies.map(\.text), ["first", "second"])
            XCTAssertEqual(try store.messages(MessageQuery()).messages.first?.replies.map(\.agentName), ["Ann", "Bob"])
        }
    }

    func resolvesAssignsAndUnassigns() throws {
        try withStore { store in
            let id = try store.insertMessage(message(1, "help", urgency: 3, at: 1))
            XCTAssertTrue(try store.assign(messageID: id, to: "Sarah", at: Timestamp(microseconds: 5_000_000)))
            XCTAssertEqual(try store.message(id: id)?.assignedTo, "Sarah")
            XCTAssertEqual(try store.message(id: id)?.assignedAt, Timestamp(microseconds: 5_000_000))
            XCTAssertTrue(try store.unassign(messageID: id))
            XCTAssertNil(try store.message(id: id)?.assignedTo)
            XCTAssertNil(try store.message(id: id)?.assignedAt)
            XCTAssertTrue(try store.resolve(messageID: id))
            XCTAssertTrue(try store.resolve(messageID: id))  // resolving twice is fine
            XCTAssertEqual(try store.message(id: id)?.status, .resolved)
            var query = MessageQuery()
            XCTAssertEqual(try store.messages(query).total, 0)
            query.status = .resolved
            XCTAssertEqual(try store.messages(query).total, 1)
            XCTAssertFalse(try store.resolve(messageID: 999))
            XCTAssertFalse(try store.assign(messageID: 999, to: "x", at: .now()))
            XCTAssertFalse(try store.unassign(messageID: 999))
        }
    }

    func profilesCustomers() throws {
        try withStore { store in
            _ = try store.insertMessage(message(5, "a", urgency: 2, at: 100))
            let b = try store.insertMessage(message(5, "b", urgency: 5, at: 300))
            _ = try store.insertMessage(message(6, "c", urgency: 1, at: 200))
            XCTAssertTrue(try store.resolve(messageID: b))
            let profile = try XCTUnwrap(try store.customer(id: 5))
            XCTAssertEqual(profile.totalMessages, 2)
            XCTAssertEqual(profile.openMessages, 1)
            XCTAssertEqual(profile.resolvedMessages, 1)
            XCTAssertEqual(profile.averageUrgency, 3.5)
            XCTAssertEqual(profile.firstContact, Timestamp(microseconds: 100_000_000))
            XCTAssertEqual(profile.lastContact, Timestamp(microseconds: 300_000_000))
            XCTAssertNil(try store.customer(id: 77))
        }
    }

    func importsIdempotently() throws {
        try withStore { store in
            let batch = (0..<50).map { message(Int64($0 % 10 + 1), "imported \($0)", urgency: 2, at: Int64($0), key: "key-\($0)") }
            XCTAssertEqual(try store.importMessages(batch), ImportBatchResult(messagesAdded: 50, customersAdded: 10))
            XCTAssertEqual(try store.importMessages(batch), ImportBatchResult(messagesAdded: 0, customersAdded: 0))
            let more = batch.prefix(5) + [message(11, "new", urgency: 1, at: 1, key: "key-new")]
            XCTAssertEqual(try store.importMessages(Array(more)), ImportBatchResult(messagesAdded: 1, customersAdded: 1))
            XCTAssertEqual(try store.messages(MessageQuery()).total, 51)
        }
    }

    func persistsSettingsAndData() throws {
        var id: Int64 = 0
        try withStore { store in
            XCTAssertNil(try store.setting("use_llm"))
            try store.setSetting("use_llm", to: "true")
            try store.setSetting("use_llm", to: "false")
            id = try store.insertMessage(message(1, "kept", urgency: 3, at: 1))
        }
        try withStore { store in
            XCTAssertEqual(try store.setting("use_llm"), "false")
            XCTAssertEqual(try store.message(id: id)?.body, "kept")
        }
    }

    func losesNothingUnderConcurrentWrites() throws {
        try withStore { store in
            let first = try store.insertMessage(message(1, "target", urgency: 3, at: 1))
            let failures = Atomic<Int>(0)
            let box = StoreBox(store: store)
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for i in 0..<40 {
                    do {
                        _ = try box.store.insertMessage(StoreContract.message(Int64(worker + 1), "w\(worker) m\(i)", urgency: 2, at: Int64(i)))
                        _ = try box.store.addReply(messageID: first, agentName: "agent \(worker)", text: "r\(i)", at: .now())
                        _ = try box.store.assign(messageID: first, to: "agent \(worker)", at: .now())
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
            XCTAssertEqual(failures.load(ordering: .relaxed), 0)
            var query = MessageQuery()
            query.status = .all
            XCTAssertEqual(try store.messages(query).total, 321)
            let target = try XCTUnwrap(try store.message(id: first))
            XCTAssertEqual(target.replies.count, 320)
            XCTAssertTrue(target.assignedTo?.hasPrefix("agent ") ?? false)
        }
    }
}

extension StoreContract {
    func recordsTheFleet() throws {
        try withStore { store in
            XCTAssertEqual(try store.instances(), [])
            let first = InstanceRecord(id: "host-a-1", host: "host-a", pid: 1, startedAt: Timestamp(microseconds: 1_000_000),
                                       rulesVersion: "aaa", rulesActivatedAt: Timestamp(microseconds: 1_000_000),
                                       lastSeen: Timestamp(microseconds: 2_000_000))
            var second = first
            second.id = "host-b-2"
            second.host = "host-b"
            second.startedAt = Timestamp(microseconds: 1_500_000)
            try store.recordInstance(first)
            try store.recordInstance(second)
            var updated = first
            updated.rulesVersion = "bbb"
            updated.rulesActivatedAt = Timestamp(microseconds: 3_000_000)
            updated.lastSeen = Timestamp(microseconds: 3_000_000)
            try store.recordInstance(updated)
            XCTAssertEqual(try store.instances(), [updated, second])
            try store.removeInstance(id: first.id)
            XCTAssertEqual(try store.instances(), [second])
        }
    }

    /// The rescore role: candidates in id order by status, batch after batch; new scores (urgency, version,
    /// breakdown) replace the old ones in one call and listings order by them at once.
    func rescoresInBatches() throws {
        try withStore { store in
            var ids: [Int64] = []
            for index in 0..<5 {
                ids.append(try store.insertMessage(message(Int64(10 + index), "message \(index)", urgency: Double(index + 1), at: 1_700_000_000 + Int64(index))))
            }
            XCTAssertTrue(try store.resolve(messageID: ids[1]))
            XCTAssertTrue(try store.resolve(messageID: ids[3]))
            let first = try store.messagesToRescore(status: .open, after: 0, limit: 2)
            XCTAssertEqual(first.map(\.id), [ids[0], ids[2]])
            XCTAssertEqual(first[1], RescoreCandidate(id: ids[2], customerID: 12, body: "message 2", urgency: 3,
                                                      createdAt: Timestamp(microseconds: 1_700_000_002 * 1_000_000)))
            XCTAssertEqual(try store.messagesToRescore(status: .open, after: ids[2], limit: 2).map(\.id), [ids[4]])
            XCTAssertEqual(try store.messagesToRescore(status: .open, after: ids[4], limit: 2), [])
            XCTAssertEqual(try store.messagesToRescore(status: .resolved, after: 0, limit: 10).map(\.id), [ids[1], ids[3]])
            XCTAssertEqual(try store.messagesToRescore(status: .all, after: 0, limit: 10).map(\.id), ids)

            try store.updateScores([])
            try store.updateScores([
                ScoreUpdate(id: ids[0], urgency: 4.75, rulesVersion: "new", breakdownJSON: #"{"intent":"refund"}"#,
                            responseDue: Timestamp(microseconds: 1_700_000_900 * 1_000_000)),
                ScoreUpdate(id: ids[4], urgency: 1.25, rulesVersion: "new", breakdownJSON: "null"),
            ])
            let rescored = try XCTUnwrap(try store.message(id: ids[0]))
            XCTAssertEqual(rescored.urgency, 4.75)
            XCTAssertEqual(rescored.rulesVersion, "new")
            XCTAssertEqual(rescored.breakdown, ["intent": "refund"])
            XCTAssertEqual(rescored.responseDue, Timestamp(microseconds: 1_700_000_900 * 1_000_000), "rescoring recomputes the due time")
            XCTAssertEqual(try store.message(id: ids[2])?.urgency, 3, "a message not in the update keeps its score")
            XCTAssertEqual(try store.message(id: ids[2])?.rulesVersion, "abc123")
            var query = MessageQuery()
            query.sort = .urgency
            query.limit = 10
            XCTAssertEqual(try store.messages(query).messages.map(\.id), [ids[0], ids[2], ids[4]])
            try store.refreshStatistics()
        }
    }
}

/// Lets a store cross into concurrent test closures (stores are Sendable; the box keeps the compiler calm).
struct StoreBox: @unchecked Sendable { let store: any Store }

extension StoreContract {
    /// Two stores on one database (two servers), eight threads claiming at once until nothing is left: what `fill`
    /// put in the first store (`count` things) is claimed exactly once. `claim` takes a batch, empty when none is left.
    func claimsEachOnce(count: Int, what: String, fill: (any Store) throws -> Void,
                        claim: @escaping @Sendable (any Store) throws -> [Int64]) throws {
        let first = try open()
        let second = try open()
        defer {
            first.close()
            second.close()
        }
        try fill(first)
        let stores = [StoreBox(store: first), StoreBox(store: second)]
        let claimed = Mutex<[Int64]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            while true {
                guard let batch = try? claim(stores[worker % 2].store), !batch.isEmpty else { return }
                claimed.withLock { $0 += batch }
            }
        }
        let ids = claimed.withLock { $0 }
        XCTAssertEqual(ids.count, count)
        XCTAssertEqual(Set(ids).count, count, "no \(what) claimed twice")
    }
}
