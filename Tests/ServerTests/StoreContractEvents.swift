import Foundation
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The event feed and rules-deployment roles of the store contract.
extension StoreContract {
    /// Every change is an event, in order, with the message as it is now; replay returns what was polled;
    /// a store opened again (a restart) replays from the database.
    func feedsEveryChangeAsEvents() throws {
        var firstID: Int64 = 0
        try withStore { store in
            let feed = try store.openEventFeed()
            XCTAssertEqual(try feed.poll(limit: 100), [])
            let long = String(repeating: "é", count: 150) + String(repeating: "x", count: 150)
            let id = try store.insertMessage(NewMessage(customerID: 7, body: long, createdAt: Timestamp(microseconds: 1_000_000),
                                                        urgency: 4.5, rulesVersion: "v", breakdown: .null))
            XCTAssertTrue(try store.addReply(messageID: id, agentName: "Ann", text: "on it", at: .now()))
            XCTAssertTrue(try store.assign(messageID: id, to: "Ann", at: .now()))
            XCTAssertTrue(try store.unassign(messageID: id))
            XCTAssertTrue(try store.resolve(messageID: id))
            XCTAssertTrue(try store.resolve(messageID: id))  // no change, no event
            try store.recordEvent(type: "rules.activated", detail: #"{"version":"abc","instance":"i-1"}"#)
            var events: [StoredEvent] = []
            _ = try waitUntil("six events") {
                events += try feed.poll(limit: 100)
                return events.count >= 6
            }
            XCTAssertEqual(events.map(\.type), ["message.created"] + Array(repeating: "message.updated", count: 4) + ["rules.activated"])
            XCTAssertEqual(events.map(\.change), [nil, "reply", "assign", "unassign", "resolve", nil])
            XCTAssertEqual(events.map(\.id), events.map(\.id).sorted())
            XCTAssertEqual(Set(events.map(\.id)).count, 6)
            let created = try XCTUnwrap(events[0].message)
            XCTAssertEqual(created.id, id)
            XCTAssertEqual(created.customerID, 7)
            XCTAssertEqual(created.urgency, 4.5)
            XCTAssertEqual(created.preview, String(long.prefix(200)), "the first 200 characters, not bytes")
            XCTAssertEqual(created.status, .resolved, "the message as it is now")
            XCTAssertNil(events[5].message)
            XCTAssertEqual(events[5].detail, #"{"version":"abc","instance":"i-1"}"#)
            XCTAssertEqual(try feed.poll(limit: 100), [])
            XCTAssertEqual(try feed.replay(after: events[2].id, limit: 100).map(\.id), events[3...].map(\.id))
            XCTAssertEqual(try feed.replay(after: events[0].id, limit: 2).map(\.id), events[1...2].map(\.id))
            firstID = events[0].id
            // Skipping reads nothing that came before.
            _ = try store.insertMessage(NewMessage(customerID: 8, body: "skipped", createdAt: .now(), urgency: 1, rulesVersion: "v",
                                                   breakdown: .null))
            try feed.skipToEnd()
            XCTAssertEqual(try feed.poll(limit: 100), [])
            XCTAssertEqual(try feed.replay(after: firstID, limit: 100).count, 6)
        }
        try withStore { store in
            let replayed = try store.openEventFeed().replay(after: firstID, limit: 100)
            XCTAssertEqual(replayed.count, 6, "after a restart the feed replays from the database")
            try store.pruneEvents(keeping: 2)
            XCTAssertEqual(try store.openEventFeed().replay(after: 0, limit: 100).count, 2)
        }
    }

    /// Two stores on one database (two servers) write at once; one feed sees every event exactly once.
    func feedsConcurrentWritersExactlyOnce() throws {
        let first = try open()
        let second = try open()
        defer {
            first.close()
            second.close()
        }
        let feed = try first.openEventFeed()
        let stores = [StoreBox(store: first), StoreBox(store: second)]
        let failures = Atomic<Int>(0)
        let writing = DispatchGroup()
        writing.enter()
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for i in 0..<25 {
                    do {
                        _ = try stores[worker % 2].store.insertMessage(NewMessage(customerID: Int64(worker + 1), body: "w\(worker) m\(i)",
                                                                                  createdAt: .now(), urgency: 2, rulesVersion: "v",
                                                                                  breakdown: .null))
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
            writing.leave()
        }
        // Poll while they write (that is when a feed could miss or repeat an event), then until all are in.
        var ids: [Int64] = []
        while writing.wait(timeout: .now()) == .timedOut { ids += try feed.poll(limit: 50).map(\.id) }
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
        _ = try waitUntil("every event polled") {
            ids += try feed.poll(limit: 500).map(\.id)
            return ids.count >= 200
        }
        XCTAssertEqual(ids.count, 200, "each event once")
        XCTAssertEqual(Set(ids).count, 200)
    }

    /// A message keeps its first-response due time; its first reply, and only the first, sets when it was answered.
    func keepsFirstResponseTimes() throws {
        try withStore { store in
            let due = Timestamp(microseconds: 1_700_000_900 * 1_000_000)
            let id = try store.insertMessage(NewMessage(customerID: 3, body: "help", createdAt: Timestamp(microseconds: 1_700_000_000 * 1_000_000),
                                                        urgency: 5, rulesVersion: "v", breakdown: .null, responseDue: due))
            let other = try store.insertMessage(NewMessage(customerID: 3, body: "no target", createdAt: .now(), urgency: 1,
                                                           rulesVersion: "v", breakdown: .null))
            var stored = try XCTUnwrap(try store.message(id: id))
            XCTAssertEqual(stored.responseDue, due)
            XCTAssertNil(stored.firstResponseAt)
            XCTAssertTrue(stored.isOverdue(at: Timestamp(microseconds: due.microseconds + 1)))
            XCTAssertFalse(stored.isOverdue(at: Timestamp(microseconds: due.microseconds - 1)))
            XCTAssertTrue(try store.addReply(messageID: id, agentName: "Ann", text: "first", at: Timestamp(microseconds: 1_700_000_500 * 1_000_000)))
            XCTAssertTrue(try store.addReply(messageID: id, agentName: "Bob", text: "second", at: Timestamp(microseconds: 1_700_000_800 * 1_000_000)))
            stored = try XCTUnwrap(try store.message(id: id))
            XCTAssertEqual(stored.firstResponseAt, Timestamp(microseconds: 1_700_000_500 * 1_000_000), "the first reply")
            XCTAssertFalse(stored.isOverdue(at: Timestamp(microseconds: due.microseconds + 1)), "answered in time")
            XCTAssertNil(try store.message(id: other)?.responseDue)
            let listed = try store.messages(MessageQuery()).messages.first { $0.id == id }
            XCTAssertEqual(listed?.responseDue, due)
            XCTAssertEqual(listed?.firstResponseAt, stored.firstResponseAt)
            // Listing the overdue ones, and counting them per customer.
            let late = try store.insertMessage(NewMessage(customerID: 3, body: "late", createdAt: Timestamp(microseconds: 1_700_000_000 * 1_000_000),
                                                          urgency: 4, rulesVersion: "v", breakdown: .null, responseDue: due))
            var overdue = MessageQuery()
            overdue.overdueAt = Timestamp(microseconds: due.microseconds + 1)
            let page = try store.messages(overdue)
            XCTAssertEqual(page.messages.map(\.id), [late], "the answered one and the one without a target are not overdue")
            XCTAssertEqual(page.total, 1)
            overdue.overdueAt = Timestamp(microseconds: due.microseconds - 1)
            XCTAssertEqual(try store.messages(overdue).messages, [])
            XCTAssertEqual(try store.customer(id: 3)?.overdueMessages, 1)
        }
    }

    /// `sort=due`: earliest first-response due first, answered and target-less ones last (by id), every row once
    /// across pages.
    func paginatesByDueTime() throws {
        try withStore { store in
            func at(_ seconds: Int64) -> Timestamp { Timestamp(microseconds: seconds * 1_000_000) }
            var ids: [String: Int64] = [:]
            for (name, due) in [("c", 300), ("a", 100), ("none", nil), ("b", 200), ("answered", 50), ("b2", 200)] as [(String, Int64?)] {
                ids[name] = try store.insertMessage(NewMessage(customerID: 1, body: name, createdAt: at(10), urgency: 3, rulesVersion: "v",
                                                               breakdown: .null, responseDue: due.map(at)))
            }
            XCTAssertTrue(try store.addReply(messageID: ids["answered"]!, agentName: "Ann", text: "done", at: at(20)))
            var query = MessageQuery()
            query.sort = .due
            query.limit = 2
            var seen: [String] = []
            while true {
                let page = try store.messages(query)
                seen += page.messages.map(\.body)
                guard let next = page.next else { break }
                query.after = next
            }
            XCTAssertEqual(seen, ["a", "b", "b2", "c", "none", "answered"])
        }
    }

    /// Each overdue message is reported once, even by two servers at once; answered and resolved ones never.
    func reportsEachOverdueMessageOnce() throws {
        let first = try open()
        let second = try open()
        defer {
            first.close()
            second.close()
        }
        let past = Timestamp(microseconds: Timestamp.now().microseconds - 60_000_000)
        var ids: [Int64] = []
        for index in 0..<60 {
            ids.append(try first.insertMessage(NewMessage(customerID: 1, body: "m\(index)", createdAt: past, urgency: 5, rulesVersion: "v",
                                                          breakdown: .null, responseDue: past)))
        }
        XCTAssertTrue(try first.addReply(messageID: ids[0], agentName: "Ann", text: "answered", at: .now()))
        XCTAssertTrue(try first.resolve(messageID: ids[1]))
        let feed = try first.openEventFeed()
        XCTAssertEqual(try first.overdueCount(now: .now()), 58)
        let stores = [StoreBox(store: first), StoreBox(store: second)]
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            while (try? stores[worker % 2].store.reportOverdue(now: .now(), limit: 7)) ?? 0 > 0 {}
        }
        var overdue: [Int64] = []
        _ = try waitUntil("the reports in the feed") {
            overdue += try feed.poll(limit: 1000).filter { $0.type == "message.overdue" }.compactMap { $0.message?.id }
            return overdue.count >= 58
        }
        XCTAssertEqual(overdue.count, 58)
        XCTAssertEqual(Set(overdue), Set(ids.dropFirst(2)), "each once; not the answered nor the resolved one")
        XCTAssertEqual(try first.reportOverdue(now: .now(), limit: 100), 0)
    }

    /// Deployed rule sets: the latest one with its files.
    func recordsDeployments() throws {
        try withStore { store in
            XCTAssertEqual(try store.latestDeploymentID(), 0)
            XCTAssertNil(try store.latestDeployment())
            let files = ["urgency.lua": "function score() return 1 end -- \"quoted\" ünï\n", "lib/x.lua": "return {}\n"]
            let first = try store.recordDeployment(RulesDeployment(version: "aaa", files: files, deployedAt: Timestamp(microseconds: 5),
                                                                   deployedBy: "admin", instance: "host-1"))
            let second = try store.recordDeployment(RulesDeployment(version: "bbb", files: ["urgency.lua": "x"],
                                                                    deployedAt: Timestamp(microseconds: 6), deployedBy: "loopback",
                                                                    instance: "host-2"))
            XCTAssertGreaterThan(second, first)
            XCTAssertEqual(try store.latestDeploymentID(), second)
            XCTAssertEqual(try store.latestDeployment(),
                           RulesDeployment(id: second, version: "bbb", files: ["urgency.lua": "x"], deployedAt: Timestamp(microseconds: 6),
                                           deployedBy: "loopback", instance: "host-2"))
            _ = try store.recordDeployment(RulesDeployment(version: "ccc", files: files, deployedAt: .now(), deployedBy: "admin",
                                                           instance: "host-1"))
            XCTAssertEqual(try store.latestDeployment()?.files, files)
        }
    }
}
