import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport

/// Accuracy in the server: `POST /api/rules/check` reports a candidate's figures on the labelled sets among the
/// check fixtures (and which fell below their `thresholds.conf`), and a reload gate whose labelled set has a
/// `thresholds.conf` refuses rules that miss it — at start and on reload — with a reason naming the figure.
///
/// The rules here score a message by reading it as a number, so the labelled sets' figures are set by hand.
final class RulesAccuracyTests: XCTestCase {
    private var root: URL!
    private var server: TestServer?
    private var client: TestHTTPClient!

    /// The message read as a number (3 for anything else, the probe message included), plus `shift`.
    private static func echo(shift: Double = 0, comment: String = "") -> String {
        "-- \(comment)\nfunction score(message, ctx)\n  return (tonumber(message.text) or 3) + \(shift)\nend\n"
    }

    private static func constant(_ value: Double) -> String {
        "function score(message, ctx)\n  return \(value)\nend\n"
    }

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-accuracy-\(UUID().uuidString)")
        try write(Self.echo(), to: "rules/urgency.lua")
        // Labels 1, 1, 2, 3 scored 1, 1, 2, 2 by the echo: mae 0.25, exact 0.75, within1 1, pairwise 4.5 of 5 = 0.9.
        try write("message,label\n1,1\n1,1\n2,2\n2,3\n", to: "fixtures/labelled.csv")
        // Labels 1 to 5, each scored exactly by the echo.
        try write("message,label\n1,1\n2,2\n3,3\n4,4\n5,5\n", to: "gate/labelled.csv")
        try write("# the gate keeps the order and the error\nmin_pairwise = 0.9\nmax_mae = 0.5\n", to: "gate/thresholds.conf")
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(at: root)
    }

    private func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    private func write(_ text: String, to name: String) throws {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    private func start(_ configure: @escaping (inout ServerConfiguration) -> Void) throws {
        let rules = path("rules")
        server = try TestServer { configuration in
            configuration.rulesDirectory = rules
            configuration.watchRules = false
            configure(&configuration)
        }
        client = server?.client()
    }

    private func checkCandidate(_ source: String) throws -> TestHTTPClient.Response {
        try client.request("POST", "/api/rules/check", json: ["urgency.lua": .string(source)])
    }

    private func dryRun(_ text: String) throws -> Double? {
        try client.request("POST", "/api/score", json: ["message": .string(text)]).json?["urgency"]?.doubleValue
    }

    func testACandidateCheckReportsTheAccuracyFigures() throws {
        let fixtures = path("fixtures")
        try start { $0.checkFixtures = [fixtures] }
        let response = try checkCandidate(Self.echo(comment: "candidate"))
        XCTAssertEqual(response.status, 200, response.text)
        let sets = try XCTUnwrap(response.json?["check"]?["accuracy"]?.arrayValue)
        XCTAssertEqual(sets.count, 1)
        let set = sets[0]
        XCTAssertEqual(set["file"]?.stringValue, path("fixtures/labelled.csv"))
        XCTAssertEqual(set["n"]?.doubleValue, 4)
        XCTAssertEqual(set["mae"]?.doubleValue, 0.25)
        XCTAssertEqual(set["exact"]?.doubleValue, 0.75)
        XCTAssertEqual(set["within1"]?.doubleValue, 1)
        XCTAssertEqual(set["pairwise"]?.doubleValue, 0.9)
        XCTAssertEqual(set["confusion"]?.arrayValue?.map { $0.arrayValue?.compactMap(\.doubleValue) ?? [] },
                       [[2, 0, 0, 0, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
        XCTAssertEqual(set["below_threshold"], [])
        XCTAssertEqual(response.json?["check"]?["passed"]?.doubleValue, 0, "a labelled set has no pass/fail fixtures")

        // A constant candidate ties every pair; with thresholds beside the set, the figure that fell is named.
        try write("min_pairwise = 0.8\n", to: "fixtures/thresholds.conf")
        let flat = try checkCandidate(Self.constant(2))
        XCTAssertEqual(flat.status, 200, flat.text)
        let flatSet = try XCTUnwrap(flat.json?["check"]?["accuracy"]?.arrayValue?.first)
        XCTAssertEqual(flatSet["pairwise"]?.doubleValue, 0.5)
        XCTAssertEqual(flatSet["mae"]?.doubleValue, 0.75)
        XCTAssertEqual(flatSet["below_threshold"], ["pairwise 0.500 is below the minimum 0.800"])
        XCTAssertEqual(flat.json?["diff"]?["changed"]?.doubleValue, 2, "the two messages scored 1 by the active rules now score 2")

        // A malformed thresholds file is the fixtures' fault, not the candidate's.
        try write("min_pairwise: 0.8\n", to: "fixtures/thresholds.conf")
        let broken = try checkCandidate(Self.constant(2))
        XCTAssertEqual(broken.status, 409, broken.text)
        XCTAssertTrue(broken.text.contains("thresholds.conf:1: expected `name = number`"), broken.text)
    }

    func testAReloadGateRefusesRulesThatMissTheThresholdsNamingTheFigure() throws {
        let gate = path("gate")
        try start { $0.rulesGate = gate }
        XCTAssertEqual(try dryRun("4"), 4)

        // Every message scored 3: every pair tied (pairwise 0.5), and mae (2 + 1 + 0 + 1 + 2) / 5 = 1.2.
        try write(Self.constant(3), to: "rules/urgency.lua")
        let flat = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(flat.status, 422, flat.text)
        XCTAssertEqual(flat.json?["outcome"], "rejected")
        let reason = try XCTUnwrap(flat.json?["error"]?.stringValue)
        XCTAssertEqual(reason, "the gate refused the rules: accuracy fell, \(gate)/labelled.csv: pairwise 0.500 is below the minimum 0.900; "
                           + "\(gate)/labelled.csv: mae 1.200 is above the maximum 0.500")
        XCTAssertEqual(try dryRun("4"), 4, "the echo keeps serving")

        // Every score one too high: the order is kept, the error is not.
        try write(Self.echo(shift: 1), to: "rules/urgency.lua")
        let high = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(high.status, 422, high.text)
        let highReason = try XCTUnwrap(high.json?["error"]?.stringValue)
        XCTAssertTrue(highReason.hasSuffix("labelled.csv: mae 1.000 is above the maximum 0.500"), highReason)
        XCTAssertFalse(highReason.contains("pairwise"), highReason)
        XCTAssertEqual(try client.request("GET", "/api/rules").json?["last_reload"]?["error"]?.stringValue, highReason)

        // Rules that keep the thresholds go live.
        try write(Self.echo(comment: "same scores"), to: "rules/urgency.lua")
        let kept = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(kept.status, 200, kept.text)
        XCTAssertEqual(kept.json?["outcome"], "activated")
        XCTAssertEqual(kept.json?["gate"]?["failed"]?.doubleValue, 0)
    }

    func testAServerDoesNotStartWithRulesThatMissTheGatesThresholds() throws {
        try write(Self.constant(3), to: "rules/urgency.lua")
        let gate = path("gate")
        XCTAssertThrowsError(try start { $0.rulesGate = gate }) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("do not pass the gate: the gate refused the rules: accuracy fell"), message)
            XCTAssertTrue(message.contains("pairwise 0.500 is below the minimum 0.900"), message)
        }
    }
}
