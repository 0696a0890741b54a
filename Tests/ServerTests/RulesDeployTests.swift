import Foundation
import RulesEngine
import XCTest
@testable import Server
import Support
import TestSupport

/// `PUT /api/rules`: a candidate that loads, scores the probe and passes the gate replaces the rule files on
/// disk (each file renamed into place, nothing half-written) and goes live; one that does not changes nothing.
final class RulesDeployTests: XCTestCase {
    private var rules: URL!
    private var server: TestServer?
    private var client: TestHTTPClient!

    override func setUpWithError() throws {
        rules = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rules.appendingPathComponent("lib"), withIntermediateDirectories: true)
        try write("local tiers = require('lib.tiers')\nfallback = 1.5\nfunction score(message, ctx)\n  return tiers.base\nend\n", "urgency.lua")
        try write("return { base = 2 }\n", "lib/tiers.lua")
        try write("not a rule file, left alone\n", "NOTES.txt")
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(at: rules)
    }

    private func write(_ text: String, _ name: String) throws {
        try Data(text.utf8).write(to: rules.appendingPathComponent(name))
    }

    private func start(_ configure: @escaping (inout ServerConfiguration) -> Void = { _ in }) throws {
        let directory = rules.path
        server = try TestServer { configuration in
            configuration.rulesDirectory = directory
            configure(&configuration)
        }
        client = server?.client()
    }

    /// Every file under the rules directory with its bytes (hidden ones too: nothing may be left behind).
    private func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: rules.path)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = rules.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[path] = FileManager.default.contents(atPath: full)
            }
        }
        return files
    }

    private func activeVersion() throws -> String? {
        try client.request("GET", "/api/rules").json?["active"]?["version"]?.stringValue
    }

    func testARefusedCandidateChangesNothingAndSaysWhere() throws {
        try start()
        let before = try snapshot()
        let version = try activeVersion()
        let broken = try client.request("PUT", "/api/rules", json: [
            "urgency.lua": "fallback = 1.5\nfunction score(message, ctx)\n  return = 3\nend\n", "lib/tiers.lua": "return { base = 3 }\n",
        ])
        XCTAssertEqual(broken.status, 422, broken.text)
        XCTAssertEqual(broken.json?["outcome"], "rejected")
        XCTAssertEqual(broken.json?["trigger"], "deploy")
        XCTAssertTrue(broken.json?["error"]?.stringValue?.hasPrefix("urgency.lua:3:") ?? false, broken.text)
        XCTAssertEqual(broken.json?["file"], "urgency.lua")
        XCTAssertEqual(broken.json?["line"]?.doubleValue, 3)
        XCTAssertEqual(broken.json?["kind"], "syntax")
        let failing = try client.request("PUT", "/api/rules", json: ["urgency.lua": "function score() error('boom') end\n"])
        XCTAssertEqual(failing.status, 422, failing.text)
        XCTAssertEqual(try snapshot(), before, "nothing on disk changed, nothing left behind")
        XCTAssertEqual(try activeVersion(), version)
        let attempts = try XCTUnwrap(try client.request("GET", "/api/rules").json?["attempts"]?.arrayValue)
        XCTAssertEqual(attempts.map { $0["outcome"]?.stringValue }, ["rejected", "rejected"])
        XCTAssertEqual(attempts.first?["by"], "loopback")
    }

    func testADeployReplacesTheFilesAndGoesLive() throws {
        try start()
        let candidate: [String: String] = [
            "urgency.lua": "local tiers = require('lib.tiers')\nfallback = 1.5\nfunction score(message, ctx)\n  return tiers.base + 1\nend\n",
            "lib/tiers.lua": "return { base = 3 }\n",
        ]
        let deployed = try client.request("PUT", "/api/rules", json: .object(candidate.mapValues(JSONValue.string)))
        XCTAssertEqual(deployed.status, 200, deployed.text)
        XCTAssertEqual(deployed.json?["outcome"], "activated")
        let version = try RuleSet(files: candidate.mapValues { Array($0.utf8) }).version
        XCTAssertEqual(deployed.json?["version"]?.stringValue, version)
        XCTAssertNotNil(deployed.json?["deployment"]?.doubleValue, "recorded for the fleet")
        XCTAssertEqual(try activeVersion(), version)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hello"]).json?["urgency"]?.doubleValue, 4)
        var expected = candidate.mapValues { Data($0.utf8) }
        expected["NOTES.txt"] = Data("not a rule file, left alone\n".utf8)
        XCTAssertEqual(try snapshot(), expected, "the files on disk are the candidate's, nothing else changed or left behind")
        let files = try client.request("GET", "/api/rules/files")
        XCTAssertEqual(files.json?["version"]?.stringValue, version)
        XCTAssertEqual(files.json?["files"], .object(candidate.mapValues(JSONValue.string)))

        // The same files again: unchanged. A set without lib/tiers.lua removes it.
        XCTAssertEqual(try client.request("PUT", "/api/rules", json: .object(candidate.mapValues(JSONValue.string))).json?["outcome"],
                       "unchanged")
        let single = try client.request("PUT", "/api/rules", json: ["urgency.lua": "fallback = 1\nfunction score() return 5 end\n"])
        XCTAssertEqual(single.status, 200, single.text)
        XCTAssertEqual(Set(try snapshot().keys), ["urgency.lua", "NOTES.txt"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: rules.appendingPathComponent("lib").path), "the emptied folder is gone")
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hello"]).json?["urgency"]?.doubleValue, 5)
        // The watcher sees files it has just activated: no further attempt (the history is the deploys only).
        let attempts = try XCTUnwrap(try client.request("GET", "/api/rules").json?["attempts"]?.arrayValue)
        XCTAssertEqual(attempts.map { $0["trigger"]?.stringValue }, ["deploy", "deploy", "deploy"])
        // A reload someone asks for on the same files answers the last outcome again, and the history shows it.
        let again = try client.request("POST", "/api/rules/reload")
        XCTAssertEqual(again.json?["repeated"], true)
        let latest = try client.request("GET", "/api/rules").json
        XCTAssertEqual(latest?["attempts"]?.arrayValue?.first?["trigger"], "api")
        XCTAssertEqual(latest?["attempts"]?.arrayValue?.first?["repeated"], true)
        XCTAssertEqual(latest?["reloads"]?["activated"]?.doubleValue, 2, "a repeated answer is not counted")
    }

    func testTheGateAppliesToDeploys() throws {
        let gate = rules.deletingLastPathComponent().appendingPathComponent("uiq-deploy-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: gate, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: gate) }
        try Data("message,expected\nhello,2\n".utf8).write(to: gate.appendingPathComponent("gate.csv"))
        try start { $0.rulesGate = gate.path }
        let before = try snapshot()
        let refused = try client.request("PUT", "/api/rules", json: ["urgency.lua": "fallback = 1\nfunction score() return 4 end\n"])
        XCTAssertEqual(refused.status, 422, refused.text)
        XCTAssertEqual(refused.json?["gate"]?["failed"]?.doubleValue, 1)
        XCTAssertEqual(try snapshot(), before)
        let passing = try client.request("PUT", "/api/rules", json: ["urgency.lua": "fallback = 1\nfunction score() return 2 end\n"])
        XCTAssertEqual(passing.status, 200, passing.text)
    }

    func testDeploysAndRuleSourcesNeedTheAdminToken() throws {
        try start { $0.adminToken = "s3cret" }
        let body: JSONValue = ["urgency.lua": "fallback = 1\nfunction score() return 3 end\n"]
        XCTAssertEqual(try client.request("PUT", "/api/rules", json: body).status, 401)
        XCTAssertEqual(try client.request("GET", "/api/rules/files").status, 401)
        XCTAssertEqual(try client.request("PUT", "/api/rules", json: body, headers: ["Authorization": "Bearer wrong"]).status, 401)
        let deployed = try client.request("PUT", "/api/rules", json: body, headers: ["Authorization": "Bearer s3cret"])
        XCTAssertEqual(deployed.status, 200, deployed.text)
        XCTAssertEqual(deployed.json?["by"], "admin-token")
        XCTAssertEqual(try client.request("GET", "/api/rules/files", headers: ["Authorization": "Bearer s3cret"]).status, 200)
    }

    func testADeployNeverLeavesTheDirectoryHalfChanged() throws {
        try start()
        // A rules directory that cannot be read whole (a file over the size limit): nothing is replaced.
        try Data(repeating: 0x2D, count: 5 << 20).write(to: rules.appendingPathComponent("huge.lua"))
        var before = try snapshot()
        let unreadable = try client.request("PUT", "/api/rules", json: ["urgency.lua": "fallback = 1\nfunction score() return 3 end\n",
                                                                        "new/folder/x.lua": "return {}\n"])
        XCTAssertEqual(unreadable.status, 422, unreadable.text)
        XCTAssertTrue(unreadable.json?["error"]?.stringValue?.contains("cannot be read, so nothing was replaced") ?? false, unreadable.text)
        XCTAssertEqual(try snapshot(), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: rules.appendingPathComponent("new").path))
        try FileManager.default.removeItem(at: rules.appendingPathComponent("huge.lua"))

        // Files inside a folder with its own urgency.lua belong to another profile: refused, on disk or in the set.
        try FileManager.default.createDirectory(at: rules.appendingPathComponent("profiles/other"), withIntermediateDirectories: true)
        try write("function score() return 1 end\n", "profiles/other/urgency.lua")
        before = try snapshot()
        for candidate: JSONValue in [
            ["urgency.lua": "function score() return 3 end\n", "profiles/other/urgency.lua": "function score() return 5 end\n"],
            ["urgency.lua": "local h = require('sub.helper')\nfunction score() return h end\n", "sub/helper.lua": "return 3\n",
             "sub/urgency.lua": "function score() return 1 end\n"],
        ] {
            let refused = try client.request("PUT", "/api/rules", json: candidate)
            XCTAssertEqual(refused.status, 422, refused.text)
            XCTAssertTrue(refused.json?["error"]?.stringValue?.contains("is a profile of its own") ?? false, refused.text)
            XCTAssertEqual(try snapshot(), before)
        }
    }

    func testResponseTargetsComeFromTheRulesAndFollowADeploy() throws {
        try start()
        XCTAssertEqual(try client.request("GET", "/api/rules").json?["active"]?["sla"], .null, "these rules set none")
        let deployed = try client.request("PUT", "/api/rules", json: [
            "urgency.lua": "sla = { [5] = \"15m\", [4] = \"2h\" }\nfunction score() return 4 end\n",
        ])
        XCTAssertEqual(deployed.status, 200, deployed.text)
        let sla = try client.request("GET", "/api/rules").json?["active"]?["sla"]
        XCTAssertEqual(sla?["5"]?.doubleValue, 900)
        XCTAssertEqual(sla?["4"]?.doubleValue, 7200)
        XCTAssertNil(sla?["3"])
        let refused = try client.request("PUT", "/api/rules", json: ["urgency.lua": "sla = { [5] = \"soon\" }\nfunction score() return 4 end\n"])
        XCTAssertEqual(refused.status, 422)
        XCTAssertTrue(refused.json?["error"]?.stringValue?.contains("sla[5]") ?? false, refused.text)
    }

    func testACheckWithNoFixturesSaysSo() throws {
        try start { $0.checkFixtures = ["/nonexistent/golden"] }
        let response = try client.request("POST", "/api/rules/check", json: ["urgency.lua": "function score() return 2 end\n"])
        XCTAssertEqual(response.status, 409, response.text)
        XCTAssertTrue(response.json?["error"]?.stringValue?.contains("no fixtures to check against") ?? false, response.text)
    }

    /// A file in a folder of its own (`lib/x.lua`, `lists/x.keywords`): Foundation's path functions trap on the
    /// one-component folder "lib" on Linux, which `make fuzz-api` found crashing the server here.
    func testFilesInFoldersDeployWithoutCrashing() throws {
        try start()
        let client = try XCTUnwrap(client)
        for files: JSONValue in [["lib/x.lua": "return 1"], ["lists/x.keywords": "hello"], ["a/b/c.lua": "x"]] {
            let response = try client.request("PUT", "/api/rules", json: files)
            XCTAssertEqual(response.status, 422, "refused (no urgency.lua), not a crash: \(response.text)")
        }
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200)
    }

    func testMalformedCandidatesAre400() throws {
        try start()
        let before = try snapshot()
        for body in ["[]", "{}", "{\"urgency.lua\": 3}", "{\"../escape.lua\": \"x\"}", "{\"urgency.txt\": \"x\"}", "{\"urgency.lua\": "] {
            let response = try client.request("PUT", "/api/rules", body: Array(body.utf8), headers: ["Content-Type": "application/json"])
            XCTAssertEqual(response.status, 400, "\(body): \(response.text)")
        }
        XCTAssertEqual(try snapshot(), before)
    }
}
