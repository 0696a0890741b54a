import Foundation
import TestSupport
import XCTest
import Support

/// `urgencyiq keys` and protected mode as processes: a key made on the command line lets a client in, is shown
/// once, listed without its secret, revoked for the running server; `serve` on a network address refuses to
/// start without keys and says how to proceed.
final class KeysCommandTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-keys-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private var database: String { directory.appendingPathComponent("tickets.db").path }

    private func keys(_ arguments: [String]) throws -> CommandRunner.Result {
        try CommandRunner.run(["keys"] + arguments + ["--db", database, "--env-file", "/nonexistent"])
    }

    func testCreateListRevokeAgainstARunningServer() throws {
        let created = try keys(["create", "--name", "alice", "--role", "agent", "--expires", "90d"])
        XCTAssertEqual(created.status, 0, created.errors)
        let key = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(key.hasPrefix("uiq_") && key.count == 47, key)
        XCTAssertTrue(created.errors.contains("created agent key uiq_"), created.errors)
        XCTAssertFalse(created.errors.contains(key), "the key goes to standard output only")

        let taken = try keys(["create", "--name", "alice", "--role", "read"])
        XCTAssertEqual(taken.status, 1)
        XCTAssertTrue(taken.errors.contains("named alice already"), taken.errors)
        XCTAssertEqual(try keys(["create", "--name", "bad name", "--role", "read"]).status, 2)
        XCTAssertEqual(try keys(["create", "--name", "bob", "--role", "boss"]).status, 2)
        XCTAssertEqual(try keys(["create", "--name", "bob", "--role", "read", "--expires", "soon"]).status, 2)
        XCTAssertEqual(try keys(["rotate"]).status, 2)

        let server = try ServerProcess(database: database)
        defer { server.stop() }
        let client = TestHTTPClient(port: server.port)
        XCTAssertEqual(try client.request("GET", "/api/messages").status, 401, "a key exists: loopback needs keys too")
        let whoami = try client.request("GET", "/api/whoami", headers: ["Authorization": "Bearer \(key)"])
        XCTAssertEqual(whoami.json?["name"], "alice")
        XCTAssertEqual(whoami.json?["role"], "agent")

        let listed = try keys(["list"])
        XCTAssertEqual(listed.status, 0)
        XCTAssertTrue(listed.output.contains("alice") && listed.output.contains("agent") && listed.output.contains("active"), listed.output)
        XCTAssertTrue(listed.output.contains(String(key.prefix(8)) + "…"), listed.output)
        XCTAssertFalse(listed.output.contains(key))
        let json = try keys(["list", "--json"])
        XCTAssertEqual(try JSONParser.parse(Array(json.output.utf8)).arrayValue?.first?["status"], "active")
        XCTAssertFalse(json.output.contains(SHA256.hex(key.utf8)), "no hash in the listing")

        let revoked = try keys(["revoke", "alice"])
        XCTAssertEqual(revoked.status, 0, revoked.errors)
        XCTAssertEqual(try client.request("GET", "/api/whoami", headers: ["Authorization": "Bearer \(key)"]).status, 401,
                       "the running server refuses it at once")
        XCTAssertEqual(try keys(["revoke", "alice"]).status, 1, "nothing left to revoke")
        XCTAssertTrue(try keys(["list"]).output.contains("revoked"))
    }

    func testServeRefusesANetworkAddressWithoutKeysAndStartsWithNoAuth() throws {
        let refused = try CommandRunner.run(["serve", "--host", "0.0.0.0", "--port", "0", "--db", database, "--env-file", "/nonexistent",
                                             "--log-format", "off"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.errors.contains("refusing to serve 0.0.0.0"), refused.errors)
        XCTAssertTrue(refused.errors.contains("urgencyiq keys create --name NAME --role admin"), refused.errors)
        XCTAssertTrue(refused.errors.contains("--no-auth"), refused.errors)
        XCTAssertEqual(try CommandRunner.run(["serve", "--no-auth", "--port", "0", "--db", database, "--env-file", "/nonexistent"],
                                             environment: ["AUTH": "required"]).status, 2, "--no-auth contradicts AUTH=required")

        let open = try ServerProcess(database: database, extraArguments: ["--host", "0.0.0.0", "--no-auth"])
        XCTAssertEqual(try TestHTTPClient(port: open.port).request("GET", "/api/messages").status, 200)
        open.stop()

        let created = try keys(["create", "--name", "ops", "--role", "admin"])
        let key = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let guarded = try ServerProcess(database: database, extraArguments: ["--host", "0.0.0.0"])
        defer { guarded.stop() }
        let client = TestHTTPClient(port: guarded.port)
        XCTAssertEqual(try client.request("GET", "/api/messages").status, 401)
        XCTAssertEqual(try client.request("GET", "/api/messages", headers: ["Authorization": "Bearer \(key)"]).status, 200)
        XCTAssertEqual(try client.request("GET", "/api/health").status, 200)
    }
}
