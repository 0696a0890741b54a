import Foundation
import Support
import TestSupport
import XCTest

/// Rule deploys and live events across a fleet of `urgencyiq serve` processes on one PostgreSQL database.
final class FleetDeployTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-fleet-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    /// A copy of the shipped rules for one server (deploys write into it, never into the repository).
    private func rulesCopy(_ name: String) throws -> URL {
        let copy = directory.appendingPathComponent(name)
        try FileManager.default.copyItem(at: CommandRunner.repository.appendingPathComponent("rules"), to: copy)
        return copy
    }

    private func activeVersion(_ port: UInt16) throws -> String? {
        try TestHTTPClient(port: port).request("GET", "/api/rules").json?["active"]?["version"]?.stringValue
    }

    func testADeployOnOneServerReachesEveryServerAndTheirSubscribers() throws {
        let url = try PostgresTestServer.shared().database()
        let (rulesA, rulesB, rulesC) = (try rulesCopy("a"), try rulesCopy("b"), try rulesCopy("c"))
        let first = try ServerProcess(database: url, extraArguments: ["--rules", rulesA.path])
        defer { first.stop() }
        let second = try ServerProcess(database: url, extraArguments: ["--rules", rulesB.path])
        defer { second.stop() }
        let original = try XCTUnwrap(try activeVersion(second.port))

        // Subscribed to the second server: it hears about what happens on the first.
        let subscriber = try EventStreamClient(port: second.port)
        XCTAssertEqual(subscriber.status, 200)
        let sent = try TestHTTPClient(port: first.port).request("POST", "/api/messages/send",
                                                                json: ["user_id": 77, "message": "sent to the first server"])
        XCTAssertEqual(sent.status, 201)
        let messageID = try XCTUnwrap(sent.json?["message_id"]?.doubleValue)
        let created = try subscriber.events(until: { $0.name == "message.created" }).last
        XCTAssertEqual(created?.json?["message_id"]?.doubleValue, messageID)
        XCTAssertEqual(created?.json?["preview"]?.stringValue, "sent to the first server")

        // Deploy on the first server.
        guard case .object(let files)? = try TestHTTPClient(port: first.port).request("GET", "/api/rules/files").json?["files"] else {
            return XCTFail("no rule files")
        }
        var candidate = files
        candidate["urgency.lua"] = .string((files["urgency.lua"]?.stringValue ?? "") + "\n-- fleet deploy\n")
        let deployed = try TestHTTPClient(port: first.port).request("PUT", "/api/rules", json: .object(candidate))
        XCTAssertEqual(deployed.status, 200, deployed.text)
        let version = try XCTUnwrap(deployed.json?["version"]?.stringValue)
        XCTAssertNotEqual(version, original)
        XCTAssertEqual(try activeVersion(first.port), version)

        // The second server pulls it, writes it into its own rules directory, and says who deployed it.
        let seconds = try waitUntil("the second server to activate \(version)") { try activeVersion(second.port) == version }
        print("fleet deploy reached the second server in \(String(format: "%.2f", seconds)) s")
        XCTAssertEqual(try String(contentsOf: rulesB.appendingPathComponent("urgency.lua"), encoding: .utf8),
                       candidate["urgency.lua"]?.stringValue)
        let attempt = try XCTUnwrap(try TestHTTPClient(port: second.port).request("GET", "/api/rules").json?["attempts"]?.arrayValue?.first)
        XCTAssertEqual(attempt["trigger"]?.stringValue, "fleet")
        XCTAssertEqual(attempt["outcome"]?.stringValue, "activated")
        XCTAssertTrue(attempt["by"]?.stringValue?.hasPrefix("loopback on ") ?? false, "\(attempt)")
        // Its subscribers hear of both activations.
        var activatedOn = Set<String>()
        _ = try subscriber.events(until: { event in
            if event.name == "rules.activated", event.json?["version"]?.stringValue == version,
               let instance = event.json?["instance"]?.stringValue {
                activatedOn.insert(instance)
            }
            return activatedOn.count == 2
        })
        XCTAssertEqual(activatedOn.count, 2, "both servers' activations reach the subscriber")

        // A server that starts later gets the current deployment.
        let third = try ServerProcess(database: url, extraArguments: ["--rules", rulesC.path])
        defer { third.stop() }
        try waitUntil("the late server to activate \(version)") { try activeVersion(third.port) == version }
        let fleet = try XCTUnwrap(try TestHTTPClient(port: third.port).request("GET", "/api/rules").json?["fleet"]?.arrayValue)
        XCTAssertEqual(fleet.count, 3)
        try waitUntil("every server to report \(version) in the fleet") {
            let fleet = try TestHTTPClient(port: third.port).request("GET", "/api/rules").json?["fleet"]?.arrayValue ?? []
            return fleet.count == 3 && fleet.allSatisfy { $0["rules_version"]?.stringValue == version }
        }
    }
}
