import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport
import Support

/// The validation and the OpenAPI document say the same thing: each case here is checked against the server
/// and against the document's own schema, so neither can drift without a test failing.
final class OpenAPIAgreementTests: XCTestCase {
    private var server: TestServer!
    private var client: TestHTTPClient!
    private static let document = try! JSONParser.parse(OpenAPIDocument.bytes ?? [])

    override func setUpWithError() throws {
        server = try TestServer()
        client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 1, "message": "first"]).status, 201)
    }

    override func tearDown() { server.stop() }

    private static func schema(_ name: String) -> JSONValue { document["components"]?["schemas"]?[name] ?? .null }

    /// Whether `text` matches the document's `pattern` (ECMAScript syntax; these patterns mean the same in
    /// NSRegularExpression).
    private static func matches(_ pattern: JSONValue?, _ text: String) throws -> Bool {
        let expression = try NSRegularExpression(pattern: try XCTUnwrap(pattern?.stringValue))
        return expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    private func send(_ fields: JSONValue) throws -> Int {
        try client.request("POST", "/api/messages/send", json: fields).status
    }

    func testUserIDsAsTheDocumentWritesThem() throws {
        let pattern = Self.schema("SendRequest")["properties"]?["user_id"]?["oneOf"]?.arrayValue?[1]["pattern"]
        for (text, valid) in [("7", true), ("9223372036854775807", true), ("0", false), ("007", false), (" 7", false),
                              ("+7", false), ("9223372036854775808", false), ("", false)] {
            XCTAssertEqual(try Self.matches(pattern, text), valid, "the document on \(text.debugDescription)")
            XCTAssertEqual(try send(["user_id": .string(text), "message": "hi"]), valid ? 201 : 400, "the server on \(text.debugDescription)")
        }
        XCTAssertEqual(try send(["user_id": 7.0, "message": "hi"]), 201, "7.0 is an integer in JSON Schema")
        XCTAssertEqual(try send(["user_id": 7.5, "message": "hi"]), 400)
        XCTAssertEqual(try send(["user_id": 0, "message": "hi"]), 400)
    }

    func testTextNeedsMoreThanWhitespaceAndNoNUL() throws {
        let pattern = Self.schema("SendRequest")["properties"]?["message"]?["pattern"]
        for (text, valid) in [("hello", true), ("  padded  ", true), ("   ", false), ("\u{FEFF}", false), ("\t\n", false),
                              ("a\u{0}b", false), ("line one\nline two", true)] {
            XCTAssertEqual(try Self.matches(pattern, text), valid, "the document on \(text.debugDescription)")
            XCTAssertEqual(try send(["user_id": 1, "message": .string(text)]), valid ? 201 : 400, "the server on \(text.debugDescription)")
        }
        // maxLength counts the characters as sent, surrounding whitespace included.
        let limit = try XCTUnwrap(Self.schema("SendRequest")["properties"]?["message"]?["maxLength"]?.doubleValue)
        XCTAssertEqual(try send(["user_id": 1, "message": .string("x" + String(repeating: " ", count: Int(limit)))]), 400)
    }

    func testAgentNamesAreOneLine() throws {
        let pattern = Self.schema("ReplyRequest")["properties"]?["agent_name"]?["pattern"]
        for (name, valid) in [("Ann", true), (" Ann Wanjiru ", true), ("Ann\nBob", false), ("Ann\u{0}", false), ("Ann\t", false),
                              ("\u{7F}Ann", false), (" ", false)] {
            XCTAssertEqual(try Self.matches(pattern, name), valid, "the document on \(name.debugDescription)")
            let status = try client.request("POST", "/api/messages/1/reply", json: ["agent_name": .string(name), "reply": "ok"]).status
            XCTAssertEqual(status, valid ? 201 : 400, "reply as \(name.debugDescription)")
            let assigned = try client.request("POST", "/api/messages/1/assign", json: ["agent_name": .string(name)]).status
            XCTAssertEqual(assigned, valid ? 200 : 400, "assign to \(name.debugDescription)")
        }
    }

    func testTheLLMToggleTakesBooleansOnly() throws {
        XCTAssertEqual(Self.schema("LLMToggle")["properties"]?["use_llm"]?["type"], "boolean")
        for value: JSONValue in ["yes", "no", "0", "true", 1, 0, .null] {
            XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": value]).status, 400, "\(value)")
        }
        for value in [true, false] {
            XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": .bool(value)]).status, 200)
        }
        let form = ["Content-Type": "application/x-www-form-urlencoded"]
        for (body, status) in [("use_llm=true", 200), ("use_llm=false", 200), ("use_llm=0", 400), ("use_llm=yes", 400), ("use_llm=True", 400)] {
            XCTAssertEqual(try client.request("POST", "/api/set/llm", body: Array(body.utf8), headers: form).status, status, body)
        }
    }

    func testTheDryRunTakesAUserIDOrNone() throws {
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hi"]).status, 200)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hi", "user_id": 3]).status, 200)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hi", "user_id": .null]).status, 400)
        XCTAssertFalse(Self.schema("ScoreRequest")["required"]?.arrayValue?.contains("user_id") ?? true)
    }

    func testRulesCheckKeysAreRuleFileNames() throws {
        let body = Self.document["paths"]?["/api/rules/check"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]
        let pattern = body?["propertyNames"]?["pattern"]
        for (name, valid) in [("helpers.lua", true), ("lib/tiers.lua", true), ("notes.txt", false), ("../x.lua", false),
                              ("lib//x.lua", false), (".hidden.lua", false)] {
            XCTAssertEqual(try Self.matches(pattern, name), valid, name)
            let files: JSONValue = .object(["urgency.lua": "function score() return 2 end", name: "return {}"])
            let status = try client.request("POST", "/api/rules/check", json: files).status
            XCTAssertEqual(status, valid ? 200 : 400, name)
        }
    }

    func testAnEmptyCursorIsTheFirstPage() throws {
        XCTAssertEqual(try client.request("GET", "/api/messages?cursor=").json?.arrayValue?.count, 1)
        XCTAssertEqual(try client.request("GET", "/api/messages?cursor=nonsense").status, 400)
        for query in ["limit=+5", "limit=05", "since_id=-0", "since_id=+1", "user_id=01"] {
            XCTAssertEqual(try client.request("GET", "/api/messages?\(query)").status, 400, query)
        }
        XCTAssertEqual(try client.request("GET", "/api/messages?since_id=0&limit=5").status, 200)
    }
}
