import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport
import Support

/// Admin access, CORS, the OpenAPI document, configuration sources.
final class AccessTests: XCTestCase {
    func testAdminTokenIsRequiredWhenConfigured() throws {
        let server = try TestServer { $0.adminToken = "s3cret" }
        defer { server.stop() }
        let client = server.client()
        let missing = try client.request("POST", "/api/set/llm", json: ["use_llm": true])
        XCTAssertEqual(missing.status, 401)
        XCTAssertEqual(missing.header("www-authenticate"), "Bearer")
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true], headers: ["Authorization": "Bearer wrong"]).status, 401)
        XCTAssertEqual(try client.request("POST", "/admin/seed", headers: ["Authorization": "Bearer nope"]).status, 401)
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true], headers: ["Authorization": "Bearer s3cret"]).status, 200)
        XCTAssertEqual(try client.request("GET", "/api/get/llm").json, ["use_llm": true])  // reading is public
    }

    func testWithoutATokenOrKeysAdminIsLoopbackOnly() throws {
        let gate = AccessGate(store: NoKeysStore(), mode: .off, adminToken: nil, boundToLoopback: false)
        for (loopback, expected) in [(true, nil), (false, 403)] as [(Bool, Int?)] {
            guard case .principal(let principal) = gate.authenticate(HTTPRequest(method: "POST", path: "/admin/seed", isFromLoopback: loopback)) else {
                return XCTFail("no principal without credentials in open mode")
            }
            XCTAssertEqual(gate.authorize(principal, for: .admin, HTTPRequest(method: "POST", path: "/admin/seed"))?.status, expected)
        }
        XCTAssertTrue(ConstantTime.equal(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(ConstantTime.equal(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(ConstantTime.equal(Array("abc".utf8), Array("abcd".utf8)))
    }

    func testAdminFromANonLoopbackAddressIsRefused() throws {
        // Reach the server through this machine's own non-loopback address, if it has one.
        guard let address = Self.nonLoopbackIPv4() else { throw XCTSkip("this machine has no non-loopback IPv4 address") }
        let server = try TestServer {
            $0.http.host = "0.0.0.0"
            $0.auth = .off  // --no-auth: without it the server would not start on a network address without keys
        }
        defer { server.stop() }
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = server.port.bigEndian
        target.sin_addr.s_addr = inet_addr(address)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(connected, 0)
        // Pipelined: an admin endpoint, then who this client is, then a ticket listing.
        let request = "POST /admin/seed HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            + "GET /api/whoami HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /api/messages?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        _ = Array(request.utf8).withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            received += buffer.prefix(count)
        }
        let text = String(decoding: received, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 403"), text)
        XCTAssertTrue(text.contains("loopback clients only"), text)
        // --no-auth on a network address: a client elsewhere is `anonymous`, an agent, and reads tickets.
        XCTAssertTrue(text.contains("\"credential\":\"none\"") && text.contains("\"name\":\"anonymous\"") && text.contains("\"role\":\"agent\""), text)
        XCTAssertEqual(text.components(separatedBy: "HTTP/1.1 200").count - 1, 2, text)
    }

    func testTheRulesStatusShowsWhereTheServiceRunsToAdminsOnly() throws {
        let server = try TestServer { $0.adminToken = "s3cret" }
        defer { server.stop() }
        let client = server.client()
        let anonymous = try XCTUnwrap(try client.request("GET", "/api/rules").json)
        XCTAssertNil(anonymous["active"]?["directory"])
        XCTAssertNil(anonymous["instance"])
        XCTAssertEqual(anonymous["gate"], false)
        let entry = try XCTUnwrap(anonymous["fleet"]?.arrayValue?.first)
        XCTAssertNil(entry["host"])
        XCTAssertNil(entry["pid"])
        XCTAssertNil(entry["id"])
        XCTAssertNotNil(entry["rules_version"]?.stringValue)
        XCTAssertFalse(try client.request("GET", "/api/rules").text.contains(ProcessInfo.processInfo.hostName), "no host name anywhere")

        let admin = try XCTUnwrap(try client.request("GET", "/api/rules", headers: ["Authorization": "Bearer s3cret"]).json)
        XCTAssertEqual(admin["active"]?["directory"]?.stringValue, server.server.configuration.rulesDirectory)
        XCTAssertNotNil(admin["instance"]?.stringValue)
        XCTAssertEqual(admin["gate"], .null)
        XCTAssertEqual(admin["fleet"]?.arrayValue?.first?["pid"]?.doubleValue, Double(getpid()))
    }

    private static func nonLoopbackIPv4() -> String? {
        var interfaces: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&interfaces) == 0, let first = interfaces else { return nil }
        defer { freeifaddrs(interfaces) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) {
                let ipv4 = UnsafeRawPointer(address).load(as: sockaddr_in.self)
                if UInt32(bigEndian: ipv4.sin_addr.s_addr) >> 24 != 127 { return String(cString: inet_ntoa(ipv4.sin_addr)) }
            }
            cursor = entry.pointee.ifa_next
        }
        return nil
    }

    func testCORSHeadersAndPreflight() throws {
        let open = try TestServer()
        defer { open.stop() }
        let response = try open.client().request("GET", "/api/health", headers: ["Origin": "https://app.example"])
        XCTAssertEqual(response.header("access-control-allow-origin"), "*")
        XCTAssertEqual(response.header("access-control-expose-headers"), "Link, X-Total-Count, X-Total-Count-Estimate")

        let restricted = try TestServer { $0.cors = CORSPolicy(parsing: "https://app.example, https://ops.example") }
        defer { restricted.stop() }
        let client = restricted.client()
        let allowed = try client.request("GET", "/api/health", headers: ["Origin": "https://ops.example"])
        XCTAssertEqual(allowed.header("access-control-allow-origin"), "https://ops.example")
        XCTAssertEqual(allowed.header("vary"), "Origin")
        XCTAssertNil(try client.request("GET", "/api/health", headers: ["Origin": "https://evil.example"]).header("access-control-allow-origin"))
        let preflight = try client.request("OPTIONS", "/api/messages/send", headers: [
            "Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type",
        ])
        XCTAssertEqual(preflight.status, 204)
        XCTAssertEqual(preflight.header("access-control-allow-methods"), "POST, OPTIONS")
        XCTAssertEqual(preflight.header("access-control-allow-headers"), "content-type")
    }

    func testEveryRouteIsInTheOpenAPIDocument() throws {
        let server = try TestServer()
        defer { server.stop() }
        let response = try server.client().request("GET", "/openapi.json")
        XCTAssertEqual(response.status, 200)
        let document = try XCTUnwrap(response.json)
        XCTAssertEqual(document["openapi"], "3.1.0")
        guard case .object(let paths)? = document["paths"] else { return XCTFail("no paths") }
        let routes = Set(server.server.routes.map { "\($0.method) \($0.template)" })
        var documented = Set<String>()
        for (path, item) in paths {
            guard case .object(let operations) = item else { continue }
            for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
        }
        XCTAssertEqual(routes.subtracting(documented), [], "routes missing from openapi.json")
        XCTAssertEqual(documented.subtracting(routes), [], "documented operations without a route")
        // The role each operation documents is the one its route needs (none for the open ones).
        for route in server.server.routes {
            let documentedRole = document["paths"]?[route.template]?[route.method.lowercased()]?["x-required-role"]?.stringValue
            switch route.access {
            case .open: XCTAssertNil(documentedRole, "\(route.method) \(route.template) is open")
            case .role(let role): XCTAssertEqual(documentedRole, role.rawValue, "\(route.method) \(route.template)")
            }
        }
    }

    func testConfigurationSourcesAndPrecedence() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-env-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let envFile = directory.appendingPathComponent(".env").path
        try Data("# comment\nexport PORT=6000\nHOST=0.0.0.0\nADMIN_TOKEN=\"from file\"\nCORS_ORIGINS=https://a.example # trailing\nDATABASE_URL=postgres://u:p@db/x\n".utf8)
            .write(to: URL(fileURLWithPath: envFile))
        let configuration = try ServerConfiguration.load(flags: ["port": "7000"], environment: ["HOST": "127.0.0.2", "USE_LLM": "true"],
                                                         envFile: envFile)
        XCTAssertEqual(configuration.http.port, 7000)                 // flag beats file
        XCTAssertEqual(configuration.http.host, "127.0.0.2")          // environment beats file
        XCTAssertEqual(configuration.adminToken, "from file")
        XCTAssertEqual(configuration.cors, CORSPolicy(origins: ["https://a.example"]))
        XCTAssertEqual(configuration.database, .postgres(url: "postgresql://u:p@db/x"))  // the legacy prefix, converted
        XCTAssertTrue(configuration.useLLMByDefault)
        XCTAssertEqual(try ServerConfiguration.load(flags: [:], environment: ["DATABASE_URL": "sqlite:///instance/x.db"], envFile: nil).database,
                       .sqlite(path: "instance/x.db"))
        XCTAssertEqual(try ServerConfiguration.load(flags: [:], environment: [:], envFile: nil).database, .sqlite(path: "instance/urgencyiq.db"))
        XCTAssertThrowsError(try ServerConfiguration.load(flags: ["port": "99999"], environment: [:], envFile: nil)) { error in
            XCTAssertEqual("\(error)", "--port must be an integer from 0 to 65535, got '99999'")
        }
        XCTAssertThrowsError(try DotEnv.parse("NOT A LINE")) { XCTAssertEqual("\($0)", ".env:1: expected KEY=value") }
    }

    func testTimestampsParseAndRenderLikePython() {
        XCTAssertEqual(Timestamp(parsing: "2025-01-15 10:30:00")?.isoformat, "2025-01-15T10:30:00")
        XCTAssertEqual(Timestamp(parsing: "2025-01-15T10:30:00.5Z")?.isoformat, "2025-01-15T10:30:00.500000")
        XCTAssertEqual(Timestamp(parsing: "2025-01-15T12:30:00+02:00")?.isoformat, "2025-01-15T10:30:00")
        XCTAssertNil(Timestamp(parsing: "2025-02-30 10:00:00"))
        XCTAssertNil(Timestamp(parsing: "yesterday"))
        XCTAssertEqual(Timestamp(microseconds: -1).isoformat, "1969-12-31T23:59:59.999999")
    }
}
