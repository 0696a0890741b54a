import Foundation
import Synchronization
import XCTest
@testable import RulesEngine

/// The reloader tries each set of files once: repeated file events for the same content cost nothing, change
/// no count and log nothing, whether the last attempt was rejected or activated.
final class ReloaderTests: XCTestCase {
    /// Keeps every line the reloader logs.
    final class RecordingLogSink: RuleLogSink {
        let lines = Mutex<[String]>([])
        func write(level: RuleLogLevel, message: String, rulesVersion: String) {
            lines.withLock { $0.append("\(level.rawValue): \(message)") }
        }
        var all: [String] { lines.withLock { $0 } }
    }

    private var directory: TemporaryDirectory!
    private var log: RecordingLogSink!
    private var rules: ActiveRules!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory()
        try directory.write("urgency.lua", "function score() return 2 end\n")
        log = RecordingLogSink()
        rules = ActiveRules(try Scorer(rulesDirectory: directory.path, log: DiscardingLogSink()))
    }

    override func tearDown() { directory.remove() }

    private func reloader(gate: String? = nil) -> RulesReloader {
        RulesReloader(directory: directory.path, rules: rules, log: log, gate: gate)
    }

    func testARejectedSetOfFilesIsTriedOnce() throws {
        let reloader = reloader()
        try directory.write("urgency.lua", "function score() return 4 +\nend\n")
        let first = reloader.reload(trigger: .fileChange)
        XCTAssertEqual(first.outcome, .rejected)
        XCTAssertFalse(first.repeated)
        XCTAssertEqual(log.all.count, 1)

        // The same bytes written again (a second event of one save, or a touch): not attempted, not counted.
        try directory.write("urgency.lua", "function score() return 4 +\nend\n")
        let second = reloader.reload(trigger: .fileChange)
        XCTAssertTrue(second.repeated)
        XCTAssertEqual(second.outcome, .rejected)
        XCTAssertEqual(second.error, first.error)
        XCTAssertEqual(rules.attemptCounts, [.rejected: 1])
        XCTAssertEqual(rules.lastAttempt?.startedAt, first.startedAt, "the repeat is not recorded")
        XCTAssertEqual(log.all.count, 1, "a repeated file event logs nothing: \(log.all)")

        // A person asking gets the answer again, with a log line saying nothing was attempted.
        let asked = reloader.reload(trigger: .api)
        XCTAssertTrue(asked.repeated)
        XCTAssertEqual(asked.outcome, .rejected)
        XCTAssertEqual(rules.attemptCounts, [.rejected: 1])
        XCTAssertEqual(log.all.count, 2)
        XCTAssertTrue(log.all[1].contains("not attempted again"), log.all[1])

        // New content is tried.
        try directory.write("urgency.lua", "function score() return 4 end\n")
        XCTAssertEqual(reloader.reload(trigger: .fileChange).outcome, .activated)
        XCTAssertEqual(rules.attemptCounts, [.rejected: 1, .activated: 1])
    }

    func testTheActiveFilesAreNotTriedAgain() throws {
        let reloader = reloader()
        let spurious = reloader.reload(trigger: .fileChange)
        XCTAssertTrue(spurious.repeated)
        XCTAssertEqual(spurious.outcome, .unchanged)
        XCTAssertEqual(rules.attemptCounts, [:])
        XCTAssertNil(rules.lastAttempt)
        XCTAssertEqual(log.all, [])
        XCTAssertEqual(reloader.reload(trigger: .signal).outcome, .unchanged)

        // Broken, then back to the active files: that is a new attempt, and it changes nothing.
        try directory.write("urgency.lua", "tiers = {}\n")
        XCTAssertEqual(reloader.reload(trigger: .fileChange).outcome, .rejected)
        try directory.write("urgency.lua", "function score() return 2 end\n")
        let back = reloader.reload(trigger: .fileChange)
        XCTAssertFalse(back.repeated)
        XCTAssertEqual(back.outcome, .unchanged)
        XCTAssertEqual(rules.attemptCounts, [.rejected: 1, .unchanged: 1])
    }

    func testNewGateFixturesAreANewAttempt() throws {
        let gate = try TemporaryDirectory()
        defer { gate.remove() }
        try gate.write("gate.csv", "message,expected\nhello,2\n")
        let reloader = reloader(gate: gate.path)
        try directory.write("urgency.lua", "function score() return 3 end\n")
        XCTAssertEqual(reloader.reload(trigger: .fileChange).outcome, .rejected)
        XCTAssertTrue(reloader.reload(trigger: .api).repeated)
        // The operator accepts the change in the fixtures: the same rules are tried again, and pass.
        try gate.write("gate.csv", "message,expected\nhello,3\n")
        let retried = reloader.reload(trigger: .api)
        XCTAssertFalse(retried.repeated)
        XCTAssertEqual(retried.outcome, .activated)
    }

    func testAMissingDirectoryIsTriedOnceUntilItChanges() throws {
        let reloader = reloader()
        directory.remove()
        XCTAssertEqual(reloader.reload(trigger: .fileChange).error, "\(directory.path): rules directory not found")
        XCTAssertTrue(reloader.reload(trigger: .fileChange).repeated)
        XCTAssertEqual(rules.attemptCounts, [.rejected: 1])
    }

    /// The watcher wakes the reloader for rule files, not for an editor's swap and backup files.
    func testOnlyRuleFilesAreRuleEvents() {
        func names(_ name: String) -> Bool { RulesWatcher.namesRuleFile(ArraySlice(Array(name.utf8) + [0, 0, 0])) }
        XCTAssertTrue(names("urgency.lua"))
        XCTAssertTrue(names("lib/x.lua"))
        XCTAssertFalse(names(".urgency.lua.swp"))
        XCTAssertFalse(names("urgency.lua~"))
        XCTAssertFalse(names("4913"))
        XCTAssertFalse(names(".lua"))
        XCTAssertFalse(names(""))
    }
}
