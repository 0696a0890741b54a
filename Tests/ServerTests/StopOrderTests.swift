import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport

/// The background threads' `stop()` returns whatever the order of calls: twice, or before `start`. (Each waited
/// for a thread that had already said it finished, or that never ran.)
final class StopOrderTests: XCTestCase {
    /// Runs `body` on a thread of its own and fails unless it returns within the deadline.
    private func assertReturns(_ what: String, _ body: @escaping @Sendable () -> Void) throws {
        let returned = Mutex(false)
        Thread.detachNewThread {
            body()
            returned.withLock { $0 = true }
        }
        try waitUntil(what) { returned.withLock { $0 } }
    }

    func testTheFleetEntryStopsBeforeItStartedAndTwice() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-stop-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("fleet.db").path)
        defer { store.close() }
        let rules = ActiveRules(try Scorer(rulesDirectory: TestServer.repository.appendingPathComponent("rules/profiles/seed").path,
                                           log: DiscardingLogSink()))
        let neverStarted = InstanceRegistry(store: store, rules: rules, heartbeat: 0.05)
        try assertReturns("stop before start to return") { neverStarted.stop() }

        let registry = InstanceRegistry(store: store, rules: rules, heartbeat: 0.05)
        registry.start()
        XCTAssertTrue(try store.instances().contains { $0.id == registry.id })
        try assertReturns("the first stop to return") { registry.stop() }
        try assertReturns("a second stop to return") { registry.stop() }
        XCTAssertFalse(try store.instances().contains { $0.id == registry.id })
    }

    func testThePeriodicMemoryReleaseStopsTwice() throws {
        let release = ProcessMemory.startPeriodicRelease(interval: 0.05)
        try assertReturns("the first stop to return") { release.stop() }
        try assertReturns("a second stop to return") { release.stop() }
    }
}
