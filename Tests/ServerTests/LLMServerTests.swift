import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The LLM step inline (`LLM_MODE=inline`, the seed's way) through the running server: the shipped rules' blend,
/// the breakdown, `/api/llm/status`, and a hanging model that must not stall anything else. (The background mode:
/// LLMBackgroundTests.)
final class LLMServerTests: XCTestCase {
    private var fake: FakeOpenAIServer!
    private var server: TestServer!
    private var client: TestHTTPClient!

    override func setUpWithError() throws { fake = try FakeOpenAIServer() }

    override func tearDown() {
        server?.stop()
        fake.stop()
    }

    private func start(key: String? = LLMClientTests.key, enabled: Bool = true,
                       _ adjust: @escaping (inout LLMConfiguration) -> Void = { _ in }) throws {
        let baseURL = fake.baseURL
        server = try TestServer { configuration in
            configuration.llm.baseURL = baseURL
            configuration.llm.apiKey = key
            configuration.llm.mode = .inline
            adjust(&configuration.llm)
        }
        client = server.client()
        let toggled = try client.request("POST", "/api/set/llm", json: ["use_llm": .bool(enabled)])
        XCTAssertEqual(toggled.status, 200, toggled.text)
    }

    private func send(_ text: String) throws -> (urgency: Double?, llm: JSONValue?) {
        let response = try client.request("POST", "/api/messages/send", json: ["user_id": 5, "message": .string(text)])
        XCTAssertEqual(response.status, 201, response.text)
        let id = Int(response.json?["message_id"]?.doubleValue ?? 0)
        let stored = try client.request("GET", "/api/messages/\(id)")
        return (response.json?["urgency"]?.doubleValue, stored.json?["breakdown"]?["llm"])
    }

    func testTheSeedsBlendThroughTheServer() throws {
        try start()
        fake.script(.reply("3"))
        let (urgency, llm) = try send("Why was my loan rejected?")
        XCTAssertEqual(urgency, 3.8, "round(0.6 * 3 + 0.4 * 5, 1)")
        XCTAssertEqual(llm?["used"], true)
        XCTAssertEqual(llm?["score"]?.doubleValue, 3)
        XCTAssertEqual(llm?["reply"], "3")
        XCTAssertEqual(llm?["attempts"]?.doubleValue, 1)
        XCTAssertEqual(llm?["cached"], false)
        XCTAssertNotNil(llm?["latency_ms"]?.doubleValue)

        let request = try XCTUnwrap(fake.requests.first?.json)
        XCTAssertEqual(request["model"], "gpt-4o-mini")
        XCTAssertEqual(request["temperature"]?.doubleValue, 0.3)
        XCTAssertEqual(request["max_tokens"]?.doubleValue, 10)
        let messages = try XCTUnwrap(request["messages"]?.arrayValue)
        XCTAssertEqual(messages.first?["role"], "system")
        XCTAssertEqual(messages.first?["content"], "You are an expert at triaging customer messages. Respond with only a number from 1 to 5.")
        let prompt = try XCTUnwrap(messages.last?["content"]?.stringValue)
        XCTAssertTrue(prompt.hasPrefix("Rate the urgency of this customer support message on a scale of 1-5:\n\nMessage: \"Why was my loan rejected?\"\n\nScale:\n5 = Critical"), prompt)
        XCTAssertTrue(prompt.hasSuffix("Respond with only a single number (1-5)."), prompt)

        // The same message again: the cache answers, the model is not paid twice.
        let (again, cachedPart) = try send("Why was my loan rejected?")
        XCTAssertEqual(again, 3.8)
        XCTAssertEqual(cachedPart?["cached"], true)
        XCTAssertEqual(fake.requests.count, 1)

        let status = try client.request("GET", "/api/llm/status")
        XCTAssertEqual(status.status, 200)
        let json = try XCTUnwrap(status.json)
        XCTAssertEqual(json["enabled"], true)
        XCTAssertEqual(json["key_configured"], true)
        XCTAssertEqual(json["base_url"]?.stringValue, fake.baseURL)
        XCTAssertEqual(json["circuit"]?["state"], "closed")
        XCTAssertEqual(json["calls"]?.doubleValue, 1)
        XCTAssertEqual(json["replies"]?.doubleValue, 1)
        XCTAssertEqual(json["cache_hits"]?.doubleValue, 1)
        XCTAssertNotNil(json["latency_ms"]?["p50"]?.doubleValue)
        XCTAssertNotNil(json["latency_ms"]?["p99"]?.doubleValue)
        XCTAssertFalse(status.text.contains(LLMClientTests.key))
    }

    func testTheBreakdownSaysWhyTheModelWasNotUsed() throws {
        try start { $0.maximumRetries = 0 }
        fake.script(.reply("urgent!"), .status(500, body: "{}"), .reply(""))
        let garbage = try send("I will pay on sunday")
        XCTAssertEqual(garbage.urgency, 3.0, "the keyword score stands")
        XCTAssertEqual(garbage.llm?["used"], false)
        XCTAssertEqual(garbage.llm?["skipped"], "unusable reply")
        XCTAssertEqual(garbage.llm?["reply"], "urgent!")
        let failing = try send("Hi there")
        XCTAssertEqual(failing.urgency, 1.0)
        XCTAssertEqual(failing.llm?["skipped"], "http 500")
        XCTAssertEqual(failing.llm?["http_status"]?.doubleValue, 500)
        XCTAssertEqual(try send("Thanks").llm?["skipped"], "empty reply")
        let status = try XCTUnwrap(try client.request("GET", "/api/llm/status").json)
        XCTAssertEqual(status["failures"]?["http 500"]?.doubleValue, 1)
        XCTAssertEqual(status["failures"]?["empty reply"]?.doubleValue, 1)

        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": false]).status, 200)
        let disabled = try send("Why was my loan rejected?")
        XCTAssertEqual(disabled.urgency, 5.0)
        XCTAssertEqual(disabled.llm?["skipped"], "disabled")
        XCTAssertEqual(fake.requests.count, 3, "a disabled LLM step calls nothing")
    }

    func testWithoutAKeyTheKeywordScoreIsFinal() throws {
        try start(key: nil)
        let (urgency, llm) = try send("Why was my loan rejected?")
        XCTAssertEqual(urgency, 5.0)
        XCTAssertEqual(llm?["skipped"], "no key")
        XCTAssertEqual(fake.requests.count, 0)
        let status = try XCTUnwrap(try client.request("GET", "/api/llm/status").json)
        XCTAssertEqual(status["key_configured"], false)
        XCTAssertEqual(status["enabled"], true)
    }

    func testAHangingModelStallsNothingElse() throws {
        try start { $0.timeoutMilliseconds = 3000 }
        fake.answerByDefault(.delay(30, then: .reply("5")))
        let port = server.port
        let results = Mutex<[(status: Int, urgency: Double?)]>([])
        let senders = DispatchGroup()
        for index in 0..<12 {
            senders.enter()
            Thread {  // threads of their own: each blocks on its socket until the server answers
                defer { senders.leave() }
                let client = TestHTTPClient(port: port)
                guard let response = try? client.request("POST", "/api/messages/send",
                                                         json: ["user_id": 9, "message": .string("Why was my loan rejected? #\(index)")]) else {
                    results.withLock { $0.append((0, nil)) }
                    return
                }
                results.withLock { $0.append((response.status, response.json?["urgency"]?.doubleValue)) }
            }.start()
        }
        try waitUntil("the sends to fill every LLM slot") { fake.inFlight == 8 }
        for path in ["/api/health", "/api/messages?status=all", "/api/get/llm", "/api/rules", "/api/llm/status"] {
            XCTAssertEqual(try client.request("GET", path).status, 200, path)
        }
        let status = try XCTUnwrap(try client.request("GET", "/api/llm/status").json)
        XCTAssertEqual(status["in_flight"]?.doubleValue, 8, "at most LLM_MAX_CONCURRENCY calls at once")
        // Every read above was answered while all 12 sends still waited for the model (until their 3 s deadline).
        XCTAssertEqual(results.withLock { $0.count }, 0, "a read waited for the model")
        senders.wait()
        let answered = results.withLock { $0 }
        XCTAssertEqual(answered.count, 12)
        for result in answered {
            XCTAssertEqual(result.status, 201)
            XCTAssertEqual(result.urgency, 5.0, "the keyword score, at the deadline")
        }
        let listed = try client.request("GET", "/api/messages?status=all")
        XCTAssertEqual(listed.header("x-total-count"), "12")
    }

    func testImportAndRescoreCallTheModelConcurrentlyWithinTheCap() throws {
        let seed = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-llm-seed-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: seed) }
        var csv = "User ID,Timestamp (UTC),Message Body\n"
        for row in 0..<24 { csv += "\(row + 1),2025-01-15 10:\(String(format: "%02d", row)):00,message number \(row)\n" }
        try Data(csv.utf8).write(to: seed)
        let baseURL = fake.baseURL
        server = try TestServer { configuration in
            configuration.llm.baseURL = baseURL
            configuration.llm.apiKey = LLMClientTests.key
            configuration.llm.maximumConcurrency = 4
            configuration.seedFile = seed.path
        }
        client = server.client()
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true]).status, 200)
        fake.answerByDefault(.delay(0.1, then: .reply("4")))

        let imported = try client.request("POST", "/admin/seed")
        XCTAssertEqual(imported.status, 200, imported.text)
        XCTAssertEqual(imported.json?["seeded"]?["messages"]?.doubleValue, 24)
        XCTAssertEqual(fake.requests.count, 24)
        XCTAssertEqual(fake.maximumInFlight, 4, "calls run concurrently, capped at LLM_MAX_CONCURRENCY")
        let page = try XCTUnwrap(try client.request("GET", "/api/messages?limit=1000").json?.arrayValue)
        XCTAssertEqual(Set(page.compactMap { $0["urgency"]?.doubleValue }), [2.8], "round(0.6 * 4 + 0.4 * 1, 1)")

        fake.answerByDefault(.delay(0.1, then: .reply("5")))
        let rescored = try client.request("POST", "/admin/rescore", json: ["status": "all"])
        XCTAssertEqual(rescored.status, 200, rescored.text)
        XCTAssertEqual(rescored.json?["changed"]?.doubleValue, 0, "the cache still answers 4 for the same prompts")
        XCTAssertEqual(fake.requests.count, 24)
    }
}
