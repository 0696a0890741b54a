import Foundation
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// Access control over real HTTP: every endpoint against every role, keys revoked or expired on one server of a
/// fleet refused by the others at once, protected mode, `agent_name` taken from the key, the audit trail written
/// once per change, keys stored only as hashes.
final class AccessControlTests: XCTestCase {
    private static let adminToken = "token-for-the-access-tests"

    /// A copy of the seed profile to deploy over (a deploy writes the rules directory).
    private func rulesCopy(in directory: URL) throws -> String {
        let copy = directory.appendingPathComponent("rules-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestServer.repository.appendingPathComponent("rules/profiles/seed"), to: copy)
        return copy.path
    }

    /// Creates a key through the API with the admin token; the key.
    private func createKey(_ client: TestHTTPClient, name: String, role: String, expiresIn: String? = nil,
                           file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var body: [String: JSONValue] = ["name": .string(name), "role": .string(role)]
        if let expiresIn { body["expires_in"] = .string(expiresIn) }
        let created = try client.request("POST", "/api/keys", json: .object(body), headers: ["Authorization": "Bearer \(AccessControlTests.adminToken)"])
        XCTAssertEqual(created.status, 201, created.text, file: file, line: line)
        return try XCTUnwrap(created.json?["key"]?.stringValue, file: file, line: line)
    }

    private func bearer(_ key: String?) -> [String: String] { key.map { ["Authorization": "Bearer \($0)"] } ?? [:] }

    // MARK: Each role against each endpoint

    /// One endpoint as the table tests it: the request, the role it needs (nil: open to all), and the statuses that
    /// count as let in (2xx; a retry of a delivery the sender holds at that moment answers 409, past the check too).
    private struct Case {
        var method: String
        var path: String
        var template: String
        var body: JSONValue?
        var needs: Role?
        var allowed: Set<Int> = []
    }

    func testEachRoleAgainstEachEndpoint() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-roles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let rules = try rulesCopy(in: directory)
        let server = try TestServer {
            $0.auth = .required
            $0.adminToken = AccessControlTests.adminToken
            $0.rulesDirectory = rules
            // Deliveries to a closed port: they exist (one can be retried) and keep failing.
            $0.webhooks.urls = ["http://127.0.0.1:9/hook"]
            $0.webhooks.secret = WebhookTests.secret
        }
        defer {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        let client = server.client()
        let keys: [Role: String] = [
            .read: try createKey(client, name: "reader", role: "read"),
            .agent: try createKey(client, name: "agent-1", role: "agent"),
            .admin: try createKey(client, name: "lead", role: "admin"),
        ]
        let seeded = try client.request("POST", "/api/messages/send", json: ["user_id": 7, "message": "my card was charged twice"],
                                        headers: bearer(keys[.agent]))
        XCTAssertEqual(seeded.status, 201, seeded.text)
        let id = Int64(try XCTUnwrap(seeded.json?["message_id"]?.doubleValue))
        try waitUntil("a webhook delivery exists") {
            (try client.request("GET", "/api/webhooks/deliveries", headers: bearer(keys[.admin])).json?.arrayValue?.count ?? 0) > 0
        }
        let delivery = try XCTUnwrap(client.request("GET", "/api/webhooks/deliveries", headers: bearer(keys[.admin])).json?.arrayValue?.first?["id"]?.doubleValue)
        let rulesBody: JSONValue = ["urgency.lua": "fallback = 1\nfunction score() return 2 end\n"]

        let cases: [Case] = [
            Case(method: "GET", path: "/api/health", template: "/api/health"),
            Case(method: "GET", path: "/livez", template: "/livez"),
            Case(method: "GET", path: "/readyz", template: "/readyz"),
            Case(method: "GET", path: "/api/version", template: "/api/version"),
            Case(method: "GET", path: "/openapi.json", template: "/openapi.json"),
            Case(method: "GET", path: "/metrics", template: "/metrics"),
            Case(method: "GET", path: "/", template: "/"),
            Case(method: "GET", path: "/console/app.js", template: "/console/{file}"),
            Case(method: "GET", path: "/api/whoami", template: "/api/whoami", needs: .read),
            Case(method: "GET", path: "/api/messages", template: "/api/messages", needs: .read),
            Case(method: "GET", path: "/api/messages/\(id)", template: "/api/messages/{id}", needs: .read),
            Case(method: "GET", path: "/api/messages/\(id)/history", template: "/api/messages/{id}/history", needs: .read),
            Case(method: "GET", path: "/api/customers/7", template: "/api/customers/{id}", needs: .read),
            Case(method: "GET", path: "/api/events", template: "/api/events", needs: .read),
            Case(method: "GET", path: "/api/rules", template: "/api/rules", needs: .read),
            Case(method: "GET", path: "/api/llm/status", template: "/api/llm/status", needs: .read),
            Case(method: "GET", path: "/api/get/llm", template: "/api/get/llm", needs: .read),
            Case(method: "POST", path: "/api/messages/send", template: "/api/messages/send", body: ["user_id": 8, "message": "hello"], needs: .agent),
            Case(method: "POST", path: "/api/messages/\(id)/reply", template: "/api/messages/{id}/reply", body: ["reply": "On it."], needs: .agent),
            Case(method: "POST", path: "/api/messages/\(id)/assign", template: "/api/messages/{id}/assign", body: [:], needs: .agent),
            Case(method: "POST", path: "/api/messages/\(id)/unassign", template: "/api/messages/{id}/unassign", needs: .agent),
            Case(method: "POST", path: "/api/messages/\(id)/resolve", template: "/api/messages/{id}/resolve", needs: .agent),
            Case(method: "POST", path: "/api/score", template: "/api/score", body: ["message": "locked out"], needs: .agent),
            Case(method: "POST", path: "/api/rules/reload", template: "/api/rules/reload", needs: .admin),
            Case(method: "POST", path: "/api/rules/check", template: "/api/rules/check", body: rulesBody, needs: .admin),
            Case(method: "GET", path: "/api/rules/files", template: "/api/rules/files", needs: .admin),
            Case(method: "PUT", path: "/api/rules", template: "/api/rules", body: rulesBody, needs: .admin),
            Case(method: "POST", path: "/admin/seed", template: "/admin/seed", needs: .admin),
            Case(method: "POST", path: "/admin/rescore", template: "/admin/rescore", needs: .admin),
            Case(method: "POST", path: "/api/set/llm", template: "/api/set/llm", body: ["use_llm": false], needs: .admin),
            Case(method: "GET", path: "/api/webhooks/deliveries", template: "/api/webhooks/deliveries", needs: .admin),
            Case(method: "POST", path: "/api/webhooks/deliveries/\(Int64(delivery))/retry", template: "/api/webhooks/deliveries/{id}/retry",
                 needs: .admin, allowed: [200, 409]),
            Case(method: "GET", path: "/api/keys", template: "/api/keys", needs: .admin),
            Case(method: "POST", path: "/api/keys", template: "/api/keys", body: ["name": "temporary", "role": "read"], needs: .admin),
            Case(method: "DELETE", path: "/api/keys/temporary", template: "/api/keys/{name}", needs: .admin),
            Case(method: "GET", path: "/api/audit", template: "/api/audit", needs: .admin),
        ]
        XCTAssertEqual(Set(cases.map { "\($0.method) \($0.template)" }), Set(server.server.routes.map { "\($0.method) \($0.template)" }),
                       "the table covers every route, no more")

        for test in cases {
            for caller in [nil] + Role.allCases {
                let key = caller.flatMap { keys[$0] }
                let label = "\(test.method) \(test.path) as \(caller?.rawValue ?? "no key")"
                let status: Int
                var body = ""
                if test.path == "/api/events" {
                    let stream = try EventStreamClient(port: server.port, path: test.path, headers: bearer(key))
                    status = stream.status
                    stream.disconnect()
                } else {
                    let response = try test.body.map { try client.request(test.method, test.path, json: $0, headers: bearer(key)) }
                        ?? client.request(test.method, test.path, headers: bearer(key))
                    status = response.status
                    body = response.text
                }
                for secret in keys.values + [AccessControlTests.adminToken] {
                    XCTAssertFalse(body.contains(secret), "\(label): a key in the answer")
                }
                guard let needed = test.needs else {
                    XCTAssertTrue((200..<300).contains(status), "\(label): \(status) \(body.prefix(200))")
                    continue
                }
                guard let caller else {
                    XCTAssertEqual(status, 401, "\(label): \(body.prefix(200))")
                    continue
                }
                if caller.allows(needed) {
                    XCTAssertTrue(test.allowed.isEmpty ? (200..<300).contains(status) : test.allowed.contains(status),
                                  "\(label): \(status) \(body.prefix(200))")
                } else {
                    XCTAssertEqual(status, 403, "\(label): \(body.prefix(200))")
                }
            }
        }
        // A key that is not one, and the admin token itself, from the same table's point of view.
        XCTAssertEqual(try client.request("GET", "/api/messages", headers: bearer("uiq_" + String(repeating: "A", count: 43))).status, 401)
        XCTAssertEqual(try client.request("GET", "/api/messages", headers: ["Authorization": "Basic YTpi"]).status, 401)
        XCTAssertEqual(try client.request("GET", "/api/audit", headers: bearer(AccessControlTests.adminToken)).status, 200)
    }

    // MARK: A fleet

    func testRevokedAndExpiredKeysAreRefusedAtOnceOnEveryServer() throws {
        let first = try TestServer { $0.auth = .required; $0.adminToken = AccessControlTests.adminToken }
        let second = try TestServer(directory: first.directory) { $0.auth = .required; $0.adminToken = AccessControlTests.adminToken }
        defer {
            second.stop(removeFiles: false)
            first.stop()
        }
        let one = first.client(), two = second.client()
        let key = try createKey(one, name: "alice", role: "agent")
        XCTAssertEqual(try two.request("GET", "/api/messages", headers: bearer(key)).status, 200, "a key made on one server works on the other")

        let stream = try EventStreamClient(port: second.port, path: "/api/events", headers: bearer(key))
        XCTAssertEqual(stream.status, 200)
        let revoked = try one.request("DELETE", "/api/keys/alice", headers: bearer(AccessControlTests.adminToken))
        XCTAssertEqual(revoked.status, 200, revoked.text)
        for client in [two, one] {
            let refused = try client.request("GET", "/api/messages", headers: bearer(key))
            XCTAssertEqual(refused.status, 401, "the very next request, on either server")
            XCTAssertTrue(refused.text.contains("revoked"), refused.text)
            XCTAssertFalse(refused.text.contains(key))
        }
        XCTAssertTrue(stream.waitForEnd(timeout: 15), "the event stream opened with the key ends on the other server too")
        XCTAssertEqual(try one.request("DELETE", "/api/keys/alice", headers: bearer(AccessControlTests.adminToken)).status, 404)

        // Already expired when it reaches the other server: refused there with why.
        let now = Timestamp.now()
        let secret = APIKeySecret()
        let audit = AuditEntry(at: now, actor: "test", role: "admin", address: "test", action: "key.create")
        _ = try first.server.store.createAPIKey(NewAPIKey(name: "old", role: .read, hash: APIKeySecret.hash(secret.key), prefix: secret.displayPrefix,
                                                          createdAt: Timestamp(microseconds: now.microseconds - 10_000_000), createdBy: "test",
                                                          expiresAt: Timestamp(microseconds: now.microseconds - 1)), audit: audit)
        let expired = try two.request("GET", "/api/messages", headers: bearer(secret.key))
        XCTAssertEqual(expired.status, 401)
        XCTAssertTrue(expired.text.contains("expired"), expired.text)

        // One that expires while in use: let in until its time, then refused by both.
        let brief = try createKey(one, name: "brief", role: "read", expiresIn: "3s")
        let lastAllowed = Mutex<Date?>(nil)
        try waitUntil("the brief key expires on both servers", timeout: 30) {
            let statuses = try [one, two].map { try $0.request("GET", "/api/whoami", headers: bearer(brief)).status }
            if statuses == [200, 200] { lastAllowed.withLock { $0 = Date() } }
            XCTAssertTrue(statuses.allSatisfy { $0 == 200 || $0 == 401 }, "\(statuses)")
            return statuses == [401, 401]
        }
        XCTAssertNotNil(lastAllowed.withLock { $0 }, "it worked before it expired")
        XCTAssertEqual(try one.request("GET", "/api/keys", headers: bearer(AccessControlTests.adminToken)).json?.arrayValue?
            .first { $0["name"] == "brief" }?["status"], "expired")
    }

    // MARK: Protected mode

    func testProtectedModeRefusesANetworkAddressWithoutKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-protected-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try TestServer(directory: directory) { $0.http.host = "0.0.0.0" }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("refusing to serve 0.0.0.0"), text)
            XCTAssertTrue(text.contains("urgencyiq keys create"), text)
            XCTAssertTrue(text.contains("--no-auth"), text)
        }
        // --no-auth: it starts, and serves the seed's endpoints without keys.
        let open = try TestServer(directory: directory) { $0.http.host = "0.0.0.0"; $0.auth = .off }
        XCTAssertEqual(try open.client().request("GET", "/api/messages").status, 200)
        open.stop(removeFiles: false)
        // A short ADMIN_TOKEN is not access control enough.
        XCTAssertThrowsError(try TestServer(directory: directory) { $0.http.host = "0.0.0.0"; $0.adminToken = "short" }) { error in
            XCTAssertTrue("\(error)".contains("shorter than 16"), "\(error)")
        }
        // With ADMIN_TOKEN it starts, and keys are required.
        let token = try TestServer(directory: directory) { $0.http.host = "0.0.0.0"; $0.adminToken = AccessControlTests.adminToken }
        XCTAssertEqual(try token.client().request("GET", "/api/messages").status, 401)
        XCTAssertEqual(try token.client().request("GET", "/api/health").status, 200, "health stays open")
        let key = try createKey(token.client(), name: "ops", role: "admin")
        token.stop(removeFiles: false)
        // With a key in the store it starts without the token.
        let keyed = try TestServer(directory: directory) { $0.http.host = "0.0.0.0" }
        defer { keyed.stop(removeFiles: false) }
        XCTAssertEqual(try keyed.client().request("GET", "/api/messages").status, 401)
        XCTAssertEqual(try keyed.client().request("GET", "/api/messages", headers: bearer(key)).status, 200)
    }

    func testLoopbackServesTheSeedWithoutKeysUntilOneExistsAndThenStaysClosed() throws {
        let server = try TestServer()
        defer { server.stop() }
        let client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "hi"]).status, 201, "the seed's clients work")
        XCTAssertEqual(try client.request("GET", "/api/whoami").json?["auth_required"], false)
        XCTAssertEqual(try client.request("GET", "/api/messages", headers: ["Authorization": "Basic YTpi"]).status, 200,
                       "a proxy's Basic credentials are ignored where none are needed")
        // A page on another site cannot make itself a key through the browser of someone on this machine.
        let crossSite = try client.request("POST", "/api/keys", json: ["name": "mallory", "role": "admin"],
                                           headers: ["Origin": "https://evil.example"])
        XCTAssertEqual(crossSite.status, 403, crossSite.text)
        for (method, path, body) in [("POST", "/api/set/llm", ["use_llm": true] as JSONValue), ("PUT", "/api/rules", ["urgency.lua": "x"]),
                                     ("POST", "/admin/rescore", [:])] {
            XCTAssertEqual(try client.request(method, path, json: body, headers: ["Origin": "https://evil.example"]).status, 403,
                           "\(method) \(path) from another site's page without credentials")
        }
        XCTAssertEqual(try client.request("GET", "/api/messages", headers: ["Origin": "https://app.example"]).status, 200,
                       "a browser client elsewhere still reads, as CORS allows")
        XCTAssertEqual(try client.request("POST", "/api/keys", json: ["name": "loopback", "role": "admin"]).status, 400, "a reserved name")
        XCTAssertEqual(try client.request("GET", "/api/messages").status, 200, "still no key")
        let created = try client.request("POST", "/api/keys", json: ["name": "alice", "role": "admin"],
                                         headers: ["Origin": "http://127.0.0.1:\(server.port)"])
        XCTAssertEqual(created.status, 201, "a loopback client without a token is an admin while no key exists")
        let key = try XCTUnwrap(created.json?["key"]?.stringValue)
        XCTAssertEqual(try client.request("GET", "/api/messages").status, 401, "once a key exists, keys are needed on loopback too")
        XCTAssertEqual(try client.request("GET", "/api/whoami", headers: bearer(key)).json?["auth_required"], true)
        XCTAssertEqual(created.header("cache-control"), "no-store")
        XCTAssertEqual(try client.request("DELETE", "/api/keys/alice", headers: bearer(key)).status, 200)
        XCTAssertEqual(try client.request("GET", "/api/messages").status, 401, "revoking the last key does not open it again")
    }

    // MARK: Names come from keys

    func testAgentNameComesFromTheKey() throws {
        let server = try TestServer { $0.auth = .required; $0.adminToken = AccessControlTests.adminToken }
        defer { server.stop() }
        let client = server.client()
        let alice = try createKey(client, name: "alice", role: "agent")
        let lead = try createKey(client, name: "lead", role: "admin")
        let id = try XCTUnwrap(client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": "help"], headers: bearer(alice))
            .json?["message_id"]?.doubleValue)
        let path = "/api/messages/\(Int64(id))"

        let spoofed = try client.request("POST", path + "/reply", json: ["reply": "x", "agent_name": "bob"], headers: bearer(alice))
        XCTAssertEqual(spoofed.status, 403)
        XCTAssertTrue(spoofed.text.contains("alice"), spoofed.text)
        XCTAssertEqual(try client.request("POST", path + "/assign", json: ["agent_name": "bob"], headers: bearer(alice)).status, 403)
        XCTAssertEqual(try client.request("POST", path + "/reply", json: ["reply": "as someone else", "agent_name": "alice2"], headers: bearer(lead)).status,
                       403, "not even an admin replies as someone else")
        XCTAssertEqual(try client.request("POST", path + "/reply", json: ["reply": "x", "agent_name": .null], headers: bearer(alice)).status, 400,
                       "null is not leaving it out")
        XCTAssertEqual(try client.request("POST", path + "/reply", json: ["reply": "Looking now."], headers: bearer(alice)).status, 201)
        XCTAssertEqual(try client.request("POST", path + "/reply", json: ["reply": "Fixed.", "agent_name": "alice"], headers: bearer(alice)).status, 201)
        let assigned = try client.request("POST", path + "/assign", json: [:], headers: bearer(alice))
        XCTAssertEqual(assigned.json?["assigned_to"], "alice")
        XCTAssertEqual(try client.request("POST", path + "/assign", json: ["agent_name": "bob"], headers: bearer(lead)).json?["assigned_to"], "bob",
                       "an admin dispatches to anyone")
        let message = try XCTUnwrap(client.request("GET", path, headers: bearer(alice)).json)
        XCTAssertEqual(message["replies"]?.arrayValue?.compactMap { $0["agent_name"]?.stringValue }, ["alice", "alice"])
        XCTAssertEqual(message["assigned_to"], "bob")
        // With the admin token (no person's name) agent_name is required, as in the seed.
        XCTAssertEqual(try client.request("POST", path + "/reply", json: ["reply": "x"], headers: bearer(AccessControlTests.adminToken)).status, 400)
    }

    // MARK: The audit trail

    func testTheAuditTrailRecordsEachChangeOnceUnderConcurrentWrites() throws {
        let server = try TestServer { $0.auth = .required; $0.adminToken = AccessControlTests.adminToken }
        defer { server.stop() }
        let client = server.client()
        let agents = try (0..<4).map { try createKey(client, name: "agent-\($0)", role: "agent") }
        let ids = try (0..<5).map { index in
            try XCTUnwrap(client.request("POST", "/api/messages/send", json: ["user_id": .integer(Int64(index + 1)), "message": "card blocked"],
                                         headers: bearer(agents[0])).json?["message_id"]?.doubleValue).rounded()
        }
        let perAgent = 30
        let failures = Mutex<[String]>([])
        let port = server.port
        runConcurrently(agents.count) { agent in
            let client = TestHTTPClient(port: port)
            for round in 0..<perAgent {
                let id = Int64(ids[round % ids.count])
                let (path, body): (String, JSONValue) = switch round % 3 {
                case 0: ("/api/messages/\(id)/reply", ["reply": .string("reply \(round)")])
                case 1: ("/api/messages/\(id)/assign", [:])
                default: ("/api/messages/\(id)/unassign", [:])
                }
                do {
                    let response = try client.request("POST", path, json: body, headers: ["Authorization": "Bearer \(agents[agent])"])
                    if !(200..<300).contains(response.status) { failures.withLock { $0.append("\(path): \(response.status)") } }
                    // A change to a message that does not exist changes nothing, and is not in the trail.
                    let missing = try client.request("POST", "/api/messages/999999/resolve", headers: ["Authorization": "Bearer \(agents[agent])"])
                    if missing.status != 404 { failures.withLock { $0.append("missing: \(missing.status)") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        let admin = bearer(AccessControlTests.adminToken)
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": false], headers: admin).status, 200)

        // Page through the whole trail, 17 at a time, following the Link header.
        var entries: [JSONValue] = []
        var next: String? = "/api/audit?limit=17"
        while let path = next {
            let page = try client.request("GET", path, headers: admin)
            XCTAssertEqual(page.status, 200, page.text)
            entries += page.json?.arrayValue ?? []
            next = page.header("link").flatMap { link in
                link.firstIndex(of: "<").flatMap { start in link.firstIndex(of: ">").map { String(link[link.index(after: start)..<$0]) } }
            }
        }
        let ids2 = entries.compactMap { $0["id"]?.doubleValue }
        XCTAssertEqual(ids2, ids2.sorted(by: >), "newest first")
        XCTAssertEqual(Set(ids2).count, ids2.count, "each entry once across pages")
        for (index, agent) in (0..<agents.count).map({ "agent-\($0)" }).enumerated() {
            let mine = entries.filter { $0["actor"]?.stringValue == agent }
            XCTAssertEqual(mine.count, perAgent, "\(agent): one entry per change, none for the missing message (\(index))")
            XCTAssertEqual(Set(mine.compactMap { $0["action"]?.stringValue }), ["message.reply", "message.assign", "message.unassign"])
            XCTAssertTrue(mine.allSatisfy { $0["role"] == "agent" && $0["address"] == "127.0.0.1" })
        }
        XCTAssertEqual(entries.filter { $0["action"] == "key.create" }.count, 4)
        XCTAssertEqual(entries.filter { $0["action"] == "llm.toggle" && $0["actor"] == "admin-token" }.count, 1)
        XCTAssertFalse(entries.contains { $0["message_id"] == 999999 })
        XCTAssertEqual(try client.request("GET", "/api/audit?actor=agent-2&action=message.reply", headers: admin).json?.arrayValue?.count, perAgent / 3)

        // A ticket's history: its changes, oldest first, without addresses for agents.
        let history = try XCTUnwrap(client.request("GET", "/api/messages/\(Int64(ids[0]))/history", headers: bearer(agents[1])).json?.arrayValue)
        XCTAssertEqual(history.count, entries.filter { $0["message_id"]?.doubleValue == ids[0] }.count)
        XCTAssertEqual(history.compactMap { $0["id"]?.doubleValue }, history.compactMap { $0["id"]?.doubleValue }.sorted())
        XCTAssertTrue(history.allSatisfy { $0["address"] == nil })
        XCTAssertEqual(try client.request("GET", "/api/messages/999999/history", headers: bearer(agents[1])).status, 404)
        // Never editable through the API.
        XCTAssertEqual(try client.request("DELETE", "/api/audit", headers: admin).status, 405)
        XCTAssertEqual(try client.request("PUT", "/api/audit", json: [:], headers: admin).status, 405)
    }

    func testRulesAndKeyChangesAreAudited() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let rules = try rulesCopy(in: directory)
        let server = try TestServer { $0.auth = .required; $0.adminToken = AccessControlTests.adminToken; $0.rulesDirectory = rules }
        defer {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
        }
        let client = server.client()
        let lead = try createKey(client, name: "lead", role: "admin")
        XCTAssertEqual(try client.request("POST", "/api/rules/reload", headers: bearer(lead)).status, 200)
        XCTAssertEqual(try client.request("PUT", "/api/rules", json: ["urgency.lua": "fallback = 1\nfunction score() return 2 end\n"],
                                          headers: bearer(lead)).json?["by"], "lead")
        XCTAssertEqual(try client.request("POST", "/admin/rescore", headers: bearer(lead)).status, 200)
        XCTAssertEqual(try client.request("DELETE", "/api/keys/lead", headers: bearer(AccessControlTests.adminToken)).status, 200)
        let entries = try XCTUnwrap(client.request("GET", "/api/audit", headers: bearer(AccessControlTests.adminToken)).json?.arrayValue)
        XCTAssertEqual(entries.compactMap { $0["action"]?.stringValue },
                       ["key.revoke", "admin.rescore", "rules.deploy", "rules.reload", "key.create"])
        XCTAssertEqual(entries.compactMap { $0["actor"]?.stringValue }, ["admin-token", "lead", "lead", "lead", "admin-token"])
        XCTAssertEqual(entries[2]["detail"]?["files"], ["urgency.lua"])
        XCTAssertEqual(entries[2]["detail"]?["outcome"], "activated")
        XCTAssertEqual(entries[0]["detail"]?["name"], "lead")
    }

    // MARK: Only hashes are stored

    func testTheDatabaseHoldsOnlyTheKeysHashes() throws {
        let server = try TestServer { configuration in
            configuration.database = .sqlite(path: FileManager.default.temporaryDirectory
                .appendingPathComponent("uiq-hash-\(UUID().uuidString)").appendingPathComponent("test.db").path)
            configuration.auth = .required
            configuration.adminToken = AccessControlTests.adminToken
        }
        guard case .sqlite(let path) = server.server.configuration.database else { return XCTFail("not SQLite") }
        let key = try createKey(server.client(), name: "alice", role: "agent")
        XCTAssertEqual(try server.client().request("GET", "/api/messages", headers: bearer(key)).status, 200)
        server.stop()
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        var bytes = Data()
        for file in [path, path + "-wal", path + "-shm"] { bytes += (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data() }
        XCTAssertGreaterThan(bytes.count, 0)
        XCTAssertNil(bytes.range(of: Data(key.utf8)), "the key itself is nowhere in the database files")
        XCTAssertNil(bytes.range(of: Data(key.dropFirst(4).utf8)), "nor its random part")
        XCTAssertNotNil(bytes.range(of: Data(APIKeySecret.hash(key).utf8)), "its SHA-256 is")
    }
}
