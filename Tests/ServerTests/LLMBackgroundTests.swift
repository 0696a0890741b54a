import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The LLM step in the background (`LLM_MODE=background`, the default) through the running server, against a
/// scripted fake model: a new message is answered at once with its keyword score and refined later; the rules
/// decide which messages are worth a call; the backlog limit, the daily token budget, the provider's rate limits
/// and 429s; identical calls in flight shared; two servers on one store refining each message once.
final class LLMBackgroundTests: XCTestCase {
    private var fake: FakeOpenAIServer!
    private var servers: [TestServer] = []
    private var client: TestHTTPClient!

    override func setUpWithError() throws { fake = try FakeOpenAIServer() }

    override func tearDown() {
        for server in servers { server.stop() }
        fake.stop()
    }

    @discardableResult
    private func start(directory: URL? = nil, rules: String? = nil,
                       _ adjust: @escaping (inout LLMConfiguration) -> Void = { _ in }) throws -> TestServer {
        let baseURL = fake.baseURL
        let server = try TestServer(directory: directory) { configuration in
            configuration.llm.baseURL = baseURL
            configuration.llm.apiKey = LLMClientTests.key
            if let rules { configuration.rulesDirectory = TestServer.repository.appendingPathComponent(rules).path }
            adjust(&configuration.llm)
        }
        servers.append(server)
        client = server.client()
        let toggled = try client.request("POST", "/api/set/llm", json: ["use_llm": true])
        XCTAssertEqual(toggled.status, 200, toggled.text)
        return server
    }

    private func send(_ text: String, via client: TestHTTPClient? = nil) throws -> (id: Int, answer: JSONValue) {
        let response = try (client ?? self.client).request("POST", "/api/messages/send", json: ["user_id": 5, "message": .string(text)])
        XCTAssertEqual(response.status, 201, response.text)
        let answer = try XCTUnwrap(response.json)
        return (Int(answer["message_id"]?.doubleValue ?? 0), answer)
    }

    private func stored(_ id: Int) throws -> JSONValue {
        try XCTUnwrap(try client.request("GET", "/api/messages/\(id)").json)
    }

    private func llmState(_ id: Int) throws -> String? { try stored(id)["breakdown"]?["llm"]?["state"]?.stringValue }

    private func status() throws -> JSONValue { try XCTUnwrap(try client.request("GET", "/api/llm/status").json) }

    func testANewMessageIsAnsweredAtOnceWhileTheModelHangs() throws {
        try start()
        fake.answerByDefault(.delay(30, then: .reply("3")))
        let (id, answer) = try send("Why was my loan rejected?")
        XCTAssertEqual(answer["urgency"]?.doubleValue, 5.0, "the keyword score: the answer did not wait for the model")
        XCTAssertEqual(answer["llm"], "pending")
        let message = try stored(id)
        XCTAssertEqual(message["urgency"]?.doubleValue, 5.0)
        XCTAssertEqual(message["breakdown"]?["llm"]?["state"], "pending")
        try waitUntil("a refiner to call the model") { fake.inFlight == 1 }
        let queue = try XCTUnwrap(try status()["queue"])
        XCTAssertEqual(queue["depth"]?.doubleValue, 1)
        XCTAssertEqual(queue["refining_now"]?.doubleValue, 1)
        XCTAssertNotNil(queue["oldest_pending_age_s"]?.doubleValue)
        XCTAssertEqual(try status()["mode"], "background")
    }

    func testTheRefinedScoreReplacesTheKeywordScoreAndIsPublished() throws {
        let server = try start()
        fake.answerByDefault(.delay(0.2, then: .reply("3")))
        let events = try EventStreamClient(port: server.port)
        defer { events.disconnect() }
        let (id, answer) = try send("Why was my loan rejected?")
        XCTAssertEqual(answer["urgency"]?.doubleValue, 5.0)
        try waitUntil("the message to be refined") { try llmState(id) == "used" }
        let message = try stored(id)
        XCTAssertEqual(message["urgency"]?.doubleValue, 3.8, "round(0.6 * 3 + 0.4 * 5, 1), as the rules blend")
        XCTAssertEqual(message["breakdown"]?["llm"]?["score"]?.doubleValue, 3)
        XCTAssertEqual(message["breakdown"]?["urgency"]?.doubleValue, 3.8)
        XCTAssertEqual(message["rules_version"]?.stringValue, server.server.rules.scorer.rulesVersion)
        let seen = try events.events(until: { $0.json?["change"] == "refine" })
        XCTAssertEqual(seen.map(\.name), ["message.created", "message.updated"])
        XCTAssertEqual(seen.last?.json?["urgency"]?.doubleValue, 3.8)
        let queue = try XCTUnwrap(try status()["queue"])
        XCTAssertEqual(queue["depth"]?.doubleValue, 0)
        XCTAssertEqual(queue["refined_total"]?.doubleValue, 1)
        XCTAssertEqual(fake.requests.count, 1)
    }

    func testTheRulesDecideWhichMessagesAreWorthACall() throws {
        try start(rules: "rules")
        fake.answerByDefault(.reply("5"))
        let (thanks, answer) = try send("Asante sana, nimepokea")
        XCTAssertNil(answer["llm"], "not queued")
        let llm = try XCTUnwrap(try stored(thanks)["breakdown"]?["llm"])
        XCTAssertEqual(llm["state"], "skipped")
        XCTAssertEqual(llm["skipped"], "not worth a model call: thanks")
        let (greeting, queued) = try send("Habari yenu")
        XCTAssertEqual(queued["llm"], "pending")
        try waitUntil("the greeting to be refined") { try llmState(greeting) == "used" }
        XCTAssertEqual(fake.requests.count, 1, "one call: the thank-you was never sent to the model")
        XCTAssertTrue(fake.requests.first?.prompt?.contains("Habari yenu") == true)
        XCTAssertEqual(try stored(greeting)["urgency"]?.doubleValue, 3.4, "0.6 * 5 + 0.4 * 1")
    }

    func testBeyondTheBacklogLimitMessagesKeepTheirKeywordScore() throws {
        try start {
            $0.maximumConcurrency = 1
            $0.maximumBacklog = 3
        }
        fake.answerByDefault(.delay(2, then: .reply("3")))
        var ids: [Int] = []
        for index in 0..<10 { ids.append(try send("Why was my loan rejected? #\(index)").id) }
        try waitUntil("every queued message to be refined or dropped", timeout: 40) {
            (try status()["queue"]?["depth"]?.doubleValue) == 0
        }
        let states = try ids.map { id -> (state: String?, reason: String?, urgency: Double?) in
            let message = try stored(id)
            return (message["breakdown"]?["llm"]?["state"]?.stringValue, message["breakdown"]?["llm"]?["skipped"]?.stringValue,
                    message["urgency"]?.doubleValue)
        }
        let dropped = states.filter { $0.state == "skipped" }
        let refined = states.filter { $0.state == "used" }
        XCTAssertEqual(dropped.count + refined.count, 10, "none left pending: \(states)")
        XCTAssertTrue(dropped.allSatisfy { $0.reason == "backlog" && $0.urgency == 5.0 }, "\(dropped)")
        XCTAssertGreaterThanOrEqual(dropped.count, 5, "one being refined and three kept, at most one more")
        XCTAssertTrue(refined.allSatisfy { $0.urgency == 3.8 })
        XCTAssertEqual(try status()["queue"]?["skipped_total"]?["backlog"]?.doubleValue, Double(dropped.count))
        XCTAssertEqual(fake.requests.count, refined.count)
    }

    func testASpentDailyBudgetSkipsTheStepUntilTheNextDay() throws {
        try start { $0.dailyTokenBudget = 25 }  // the fake bills 11 tokens a call
        fake.answerByDefault(.reply("3"))
        for index in 0..<3 {
            let (id, answer) = try send("Why was my loan rejected? #\(index)")
            XCTAssertEqual(answer["llm"], "pending")
            try waitUntil("message \(index) to be refined") { try llmState(id) == "used" }
        }
        let (id, answer) = try send("Why was my loan rejected? #3")
        XCTAssertNil(answer["llm"], "33 tokens of 25 spent: nothing is queued")
        let llm = try XCTUnwrap(try stored(id)["breakdown"]?["llm"])
        XCTAssertEqual(llm["state"], "skipped")
        XCTAssertEqual(llm["skipped"], "budget")
        XCTAssertEqual(fake.requests.count, 3)
        let tokens = try XCTUnwrap(try status()["tokens"])
        XCTAssertEqual(tokens["input"]?.doubleValue, 30)
        XCTAssertEqual(tokens["output"]?.doubleValue, 3)
        XCTAssertEqual(tokens["daily_budget"]?.doubleValue, 25)
        XCTAssertEqual(tokens["remaining"]?.doubleValue, 0)
        XCTAssertEqual(tokens["day"]?.stringValue, String(Timestamp.now().isoformat.prefix(10)))
    }

    func testTheRequestsPerMinuteLimitPacesTheCalls() throws {
        try start { $0.requestsPerMinute = 6 }  // six at once, then one every 10 s
        fake.answerByDefault(.reply("3"))
        for index in 0..<8 { _ = try send("Why was my loan rejected? #\(index)") }
        try waitUntil("the seventh call", timeout: 30) { fake.requests.count >= 7 }
        let requests = fake.requests
        let gap = requests[6].receivedAt.timeIntervalSince(requests[0].receivedAt)
        XCTAssertGreaterThanOrEqual(gap, 8.5, "the seventh call waited for the bucket to refill (10 s for one request)")
        XCTAssertEqual(try status()["rate_limits"]?["requests_per_minute"]?.doubleValue, 6)
    }

    func testA429PausesTheRefinersForRetryAfterAndCostsNoAttempt() throws {
        try start {
            $0.maximumRetries = 0
            $0.refinementAttempts = 1  // a failure that counted would end the refinement at once
        }
        fake.script(.status(429, body: #"{"error":{"code":"rate_limit_exceeded"}}"#, headers: ["Retry-After": "2"]))
        fake.answerByDefault(.reply("3"))
        let (first, _) = try send("Why was my loan rejected? #1")
        try waitUntil("the 429") { fake.requests.count >= 1 }
        let (second, _) = try send("Why was my loan rejected? #2")
        try waitUntil("both messages to be refined") { try llmState(first) == "used" && llmState(second) == "used" }
        let requests = fake.requests
        XCTAssertEqual(requests.count, 3)
        for request in requests.dropFirst() {
            XCTAssertGreaterThanOrEqual(request.receivedAt.timeIntervalSince(requests[0].receivedAt), 1.9,
                                        "no call before the Retry-After had passed")
        }
        XCTAssertGreaterThanOrEqual(try status()["queue"]?["retried_total"]?.doubleValue ?? 0, 1)
    }

    func testIdenticalCallsInFlightShareOne() throws {
        try start { $0.mode = .inline }
        fake.answerByDefault(.delay(1, then: .reply("3")))
        let port = servers[0].port
        let answers = Mutex<[Double?]>([])
        DispatchQueue.concurrentPerform(iterations: 5) { _ in
            let response = try? TestHTTPClient(port: port).request("POST", "/api/messages/send",
                                                                   json: ["user_id": 5, "message": "Why was my loan rejected?"])
            answers.withLock { $0.append(response?.json?["urgency"]?.doubleValue) }
        }
        XCTAssertEqual(answers.withLock { $0 }, [Double?](repeating: 3.8, count: 5))
        XCTAssertEqual(fake.requests.count, 1, "one call for five identical prompts")
        let status = try status()
        XCTAssertEqual((status["single_flight_shared"]?.doubleValue ?? 0) + (status["cache_hits"]?.doubleValue ?? 0), 4)
    }

    func testTwoServersOnOneStoreRefineEachMessageOnce() throws {
        let first = try start { $0.maximumConcurrency = 4 }
        let second = try start(directory: first.directory) { $0.maximumConcurrency = 4 }
        fake.answerByDefault(.delay(0.05, then: .reply("3")))
        let clients = [first.client(), second.client()]
        var ids: [Int] = []
        for index in 0..<30 { ids.append(try send("Why was my loan rejected? #\(index)", via: clients[index % 2]).id) }
        try waitUntil("every message to be refined", timeout: 30) { try ids.allSatisfy { try llmState($0) == "used" } }
        let prompts = fake.requests.compactMap(\.prompt)
        XCTAssertEqual(prompts.count, 30, "one call per message")
        XCTAssertEqual(Set(prompts).count, 30)
        let refinedByEach = try [first, second].map { server in
            try XCTUnwrap(try server.client().request("GET", "/api/llm/status").json?["queue"]?["refined_total"]?.doubleValue)
        }
        XCTAssertEqual(refinedByEach.reduce(0, +), 30)
    }
}
