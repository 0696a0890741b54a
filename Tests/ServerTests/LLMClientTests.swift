import Foundation
import RulesEngine
import Synchronization
import XCTest
@testable import Server
import TestSupport
import Support

/// The libcurl LLM client against a fake OpenAI-compatible server over real HTTP on loopback.
final class LLMClientTests: XCTestCase {
    private var fake: FakeOpenAIServer!
    static let key = "sk-test-SECRET-1234567890"

    override func setUpWithError() throws { fake = try FakeOpenAIServer() }
    override func tearDown() { fake.stop() }

    private func client(_ adjust: (inout LLMConfiguration) -> Void = { _ in }) -> OpenAICompatibleClient {
        var configuration = LLMConfiguration()
        configuration.baseURL = fake.baseURL
        configuration.apiKey = LLMClientTests.key
        configuration.timeoutMilliseconds = 2000
        adjust(&configuration)
        return OpenAICompatibleClient(configuration: configuration)
    }

    private static let request = LLMRequest(system: "Respond with only a number from 1 to 5.", prompt: "Rate: \"Hi\"",
                                            model: "gpt-4o-mini", temperature: 0.3, maxTokens: 10)

    func testSendsTheExactRequestAndReturnsTheReply() throws {
        fake.script(.reply("4"))
        let result = client().complete(LLMClientTests.request)
        XCTAssertEqual(result.reply, "4")
        XCTAssertNil(result.reason)
        XCTAssertEqual(result.attempts, 1)
        XCTAssertEqual(result.httpStatus, 200)
        XCTAssertEqual(result.finishReason, "stop")
        XCTAssertGreaterThan(result.latencyMilliseconds, 0)
        let recorded = try XCTUnwrap(fake.requests.first)
        XCTAssertEqual(recorded.method, "POST")
        XCTAssertEqual(recorded.path, "/v1/chat/completions")
        XCTAssertEqual(recorded.headers["authorization"], "Bearer \(LLMClientTests.key)")
        XCTAssertEqual(recorded.headers["content-type"], "application/json")
        XCTAssertEqual(recorded.json, [
            "model": "gpt-4o-mini", "temperature": 0.3, "max_tokens": 10,
            "messages": [["role": "system", "content": "Respond with only a number from 1 to 5."],
                         ["role": "user", "content": "Rate: \"Hi\""]],
        ])
    }

    func testRepliesArePassedOnAsTheModelWroteThem() {
        let client = client { $0.cacheSize = 0 }
        fake.script(.reply("The urgency is 4."), .reply("garbage!"), .reply("4", finishReason: "length"))
        XCTAssertEqual(client.complete(LLMClientTests.request).reply, "The urgency is 4.")
        XCTAssertEqual(client.complete(LLMClientTests.request).reply, "garbage!")
        let truncated = client.complete(LLMClientTests.request)
        XCTAssertEqual(truncated.reply, "4")
        XCTAssertEqual(truncated.finishReason, "length")
    }

    func testEmptyRepliesAndBrokenJSONAreReasonsNotReplies() {
        let client = client { $0.cacheSize = 0 }
        fake.script(.reply(""), .reply(nil, finishReason: "content_filter"), .body("{not json"), .body("{\"choices\": []}"),
                    .body("{\"choices\": [{\"message\": {\"content\": 4}}]}"))
        XCTAssertEqual(client.complete(LLMClientTests.request).reason, "empty reply")
        XCTAssertEqual(client.complete(LLMClientTests.request).reason, "empty reply")
        for _ in 0..<3 { XCTAssertEqual(client.complete(LLMClientTests.request).reason, "invalid response") }
        XCTAssertEqual(fake.requests.count, 5, "a 200 answer is never retried")
    }

    func testRetriesA429AfterRetryAfterWithinTheDeadline() {
        fake.script(.status(429, body: #"{"error": {"code": "rate_limit_exceeded", "type": "requests"}}"#, headers: ["Retry-After": "1"]),
                    .reply("2"))
        let started = Date()
        let result = client().complete(LLMClientTests.request)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.reply, "2")
        XCTAssertEqual(result.attempts, 2)
        XCTAssertGreaterThanOrEqual(elapsed, 0.95, "Retry-After: 1 is honoured")
    }

    func testARetryAfterBeyondTheDeadlineGivesUpAtOnce() {
        fake.script(.status(429, body: #"{"error": {"code": "rate_limit_exceeded"}}"#, headers: ["Retry-After": "30"]))
        let started = Date()
        let result = client { $0.timeoutMilliseconds = 5000 }.complete(LLMClientTests.request)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "gave up at once, not at the 5 s deadline")
        XCTAssertEqual(result.reason, "http 429 rate_limit_exceeded")
        XCTAssertEqual(result.httpStatus, 429)
        XCTAssertEqual(fake.requests.count, 1)
    }

    func testNeverRetriesWhatARetryCannotFix() {
        let client = client { $0.cacheSize = 0 }
        let answers: [(FakeOpenAIServer.Behavior, String)] = [
            (.status(429, body: #"{"error": {"code": "insufficient_quota", "type": "insufficient_quota"}}"#), "http 429 insufficient_quota"),
            (.status(400, body: #"{"error": {"code": "invalid_request_error"}}"#), "http 400 invalid_request_error"),
            (.status(401, body: #"{"error": {"message": "Incorrect API key provided: sk-tes***890", "code": "invalid_api_key"}}"#),
             "http 401 invalid_api_key"),
            (.status(403, body: "forbidden"), "http 403"),
        ]
        for (index, (behavior, reason)) in answers.enumerated() {
            fake.script(behavior)
            let result = client.complete(LLMClientTests.request)
            XCTAssertEqual(result.reason, reason)
            XCTAssertEqual(result.attempts, 1)
            XCTAssertEqual(fake.requests.count, index + 1, "\(reason) was retried")
        }
    }

    func testRetriesServerErrorsAndConnectionDropsUpToTheLimit() {
        let client = client { $0.cacheSize = 0 }
        fake.script(.status(500, body: "{}"), .status(503, body: "{}"), .reply("5"))
        let recovered = client.complete(LLMClientTests.request)
        XCTAssertEqual(recovered.reply, "5")
        XCTAssertEqual(recovered.attempts, 3)

        fake.script(.status(502, body: "{}"), .status(504, body: "{}"), .status(500, body: "{}"))
        let exhausted = client.complete(LLMClientTests.request)
        XCTAssertEqual(exhausted.reason, "http 500")
        XCTAssertEqual(exhausted.attempts, 3, "two retries by default")

        // A dropped connection: libcurl itself retries once on a fresh connection when a reused one dies before
        // answering; a connection that fails again is our retry.
        fake.script(.drop, .reply("3"))
        let afterDrop = client.complete(LLMClientTests.request)
        XCTAssertEqual(afterDrop.reply, "3")
        XCTAssertEqual(fake.requests.count, 3 + 3 + 2)
        fake.script(.drop, .drop, .drop, .reply("4"))
        let afterDrops = client.complete(LLMClientTests.request)
        XCTAssertEqual(afterDrops.reply, "4")
        XCTAssertGreaterThanOrEqual(afterDrops.attempts, 2, "our own retry after a connection failure")
        XCTAssertEqual(fake.requests.count, 3 + 3 + 2 + 4)
    }

    func testASlowModelEndsAtTheDeadline() {
        fake.script(.delay(5, then: .reply("5")))
        let started = Date()
        let result = client { $0.timeoutMilliseconds = 400 }.complete(LLMClientTests.request)
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.reason, "timeout")
        XCTAssertGreaterThanOrEqual(elapsed, 0.38)
        XCTAssertLessThan(elapsed, 2.5, "ended at its deadline, not when the model answered (5 s)")
        // The rules may ask for a shorter deadline of their own.
        fake.script(.delay(5, then: .reply("5")))
        var quick = LLMClientTests.request
        quick.timeoutMilliseconds = 150
        quick.prompt += " (quick)"
        let quickStarted = Date()
        XCTAssertEqual(client { $0.timeoutMilliseconds = 4000 }.complete(quick).reason, "timeout")
        XCTAssertLessThan(Date().timeIntervalSince(quickStarted), 2.5, "the rules' 150 ms, not the client's 4 s")
    }

    func testAnUnreachableEndpointIsAConnectionFailure() {
        let port = fake.port
        fake.stop()
        let result = client { $0.baseURL = "http://127.0.0.1:\(port)/v1" }.complete(LLMClientTests.request)
        XCTAssertEqual(result.reason, "connection failed")
        XCTAssertEqual(result.attempts, 3)
    }

    func testTheCircuitOpensAfterRepeatedFailuresThenProbes() throws {
        let client = client {
            $0.breakerFailures = 3
            $0.breakerCooldownMilliseconds = 2000
            $0.maximumRetries = 0
            $0.cacheSize = 0
        }
        func state() -> JSONValue? { client.status(enabled: true)["circuit"]?["state"] }
        fake.answerByDefault(.status(500, body: "{}"))
        for _ in 0..<3 { XCTAssertEqual(client.complete(LLMClientTests.request).reason, "http 500") }
        XCTAssertEqual(client.complete(LLMClientTests.request).reason, "circuit open")
        XCTAssertEqual(fake.requests.count, 3, "an open circuit makes no request")
        XCTAssertEqual(state(), "open")

        try waitUntil("the cooldown to end") { state() == "half-open" }
        XCTAssertEqual(client.complete(LLMClientTests.request).reason, "http 500", "the probe goes through")
        XCTAssertEqual(client.complete(LLMClientTests.request).reason, "circuit open", "a failed probe opens it again")
        XCTAssertEqual(fake.requests.count, 4)

        try waitUntil("the second cooldown to end") { state() == "half-open" }
        fake.answerByDefault(.reply("4"))
        XCTAssertEqual(client.complete(LLMClientTests.request).reply, "4")
        XCTAssertEqual(client.status(enabled: true)["circuit"]?["state"], "closed")
        XCTAssertEqual(client.complete(LLMClientTests.request).reply, "4")
    }

    func testConcurrentCallsAreCapped() {
        let client = client {
            $0.maximumConcurrency = 2
            $0.cacheSize = 0
        }
        fake.answerByDefault(.delay(0.2, then: .reply("3")))
        let replies = Mutex<[String?]>([])
        runConcurrently(6) { index in
            var request = LLMClientTests.request
            request.prompt += " #\(index)"
            let result = client.complete(request)
            replies.withLock { $0.append(result.reply) }
        }
        XCTAssertEqual(replies.withLock { $0 }, Array(repeating: "3", count: 6))
        XCTAssertEqual(fake.maximumInFlight, 2)
    }

    func testACallWaitingForASlotGivesUpAtItsDeadline() throws {
        let client = client {
            $0.maximumConcurrency = 1
            $0.cacheSize = 0
            $0.timeoutMilliseconds = 8000
        }
        fake.answerByDefault(.delay(4, then: .reply("3")))
        let first = Mutex<LLMResult?>(nil)
        let done = DispatchGroup()
        DispatchQueue.global().async(group: done) { first.withLock { $0 = client.complete(LLMClientTests.request) } }
        try waitUntil("the first call to hold the only slot") { fake.inFlight == 1 }
        var second = LLMClientTests.request
        second.prompt += " (second)"
        second.timeoutMilliseconds = 200
        let started = Date()
        let waiting = client.complete(second)
        XCTAssertEqual(waiting.reason, "busy")
        XCTAssertEqual(waiting.attempts, 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2.5, "gave up at its 200 ms deadline, not when the slot freed (4 s)")
        done.wait()
        XCTAssertEqual(first.withLock { $0?.reply }, "3")
        XCTAssertEqual(fake.requests.count, 1)
    }

    func testRepeatedPromptsAreAnsweredFromTheCache() {
        let client = client()
        fake.answerByDefault(.reply("4"))
        XCTAssertFalse(client.complete(LLMClientTests.request).cached)
        let second = client.complete(LLMClientTests.request)
        XCTAssertEqual(second.reply, "4")
        XCTAssertTrue(second.cached)
        XCTAssertEqual(second.attempts, 0)
        XCTAssertEqual(fake.requests.count, 1)
        var otherModel = LLMClientTests.request
        otherModel.model = "gpt-4o"
        XCTAssertFalse(client.complete(otherModel).cached)
        var otherPrompt = LLMClientTests.request
        otherPrompt.prompt += "!"
        XCTAssertFalse(client.complete(otherPrompt).cached)
        XCTAssertEqual(fake.requests.count, 3)
        XCTAssertEqual(client.status(enabled: true)["cache_hits"]?.doubleValue, 1)
        // Failures are not cached.
        fake.script(.status(400, body: "{}"))
        var failing = LLMClientTests.request
        failing.prompt = "fails once"
        XCTAssertNotNil(client.complete(failing).reason)
        XCTAssertEqual(client.complete(failing).reply, "4")
    }

    func testTheLeastRecentlyUsedReplyIsEvictedFirst() {
        let cache = CompletionCache(capacity: 2, ttl: 60)
        func key(_ prompt: String) -> CompletionCache.Key { .init(model: "m", request: LLMRequest(prompt: prompt)) }
        let entry = CompletionCache.Entry(reply: "1", finishReason: nil, storedAt: Date())
        cache.store(entry, for: key("a"))
        cache.store(entry, for: key("b"))
        XCTAssertNotNil(cache.value(for: key("a")))  // a is now the most recent
        cache.store(entry, for: key("c"))
        XCTAssertNotNil(cache.value(for: key("a")))
        XCTAssertNil(cache.value(for: key("b")))
        XCTAssertNotNil(cache.value(for: key("c")))
        XCTAssertNil(cache.value(for: key("a"), at: Date().addingTimeInterval(61)), "expired")
        XCTAssertEqual(cache.count, 1)
    }

    func testConnectionsAreReused() {
        let client = client { $0.cacheSize = 0 }
        fake.answerByDefault(.reply("2"))
        for index in 0..<5 {
            var request = LLMClientTests.request
            request.prompt += " #\(index)"
            XCTAssertEqual(client.complete(request).reply, "2")
        }
        XCTAssertEqual(fake.connections, 1)
    }

    func testWithoutAKeyNothingIsCalled() {
        let result = client { $0.apiKey = nil }.complete(LLMClientTests.request)
        XCTAssertEqual(result.reason, "no key")
        XCTAssertEqual(fake.requests.count, 0)
    }

    func testTheModelOverrideAndDefault() throws {
        fake.answerByDefault(.reply("2"))
        _ = client { $0.modelOverride = "llama3.2" }.complete(LLMClientTests.request)
        var unnamed = LLMClientTests.request
        unnamed.model = nil
        _ = client().complete(unnamed)
        XCTAssertEqual(fake.requests.map { $0.json?["model"]?.stringValue }, ["llama3.2", "gpt-4o-mini"])
    }

    func testTheKeyAppearsNowhereButTheHeader() {
        let client = client { $0.cacheSize = 0 }
        fake.script(.status(401, body: #"{"error": {"message": "Incorrect API key provided: \#(LLMClientTests.key)", "code": "invalid_api_key"}}"#))
        let result = client.complete(LLMClientTests.request)
        XCTAssertFalse("\(result)".contains(LLMClientTests.key))
        XCTAssertFalse(client.status(enabled: true).jsonText.contains(LLMClientTests.key))
        XCTAssertEqual(client.status(enabled: true)["key_configured"], true)
        XCTAssertFalse(fake.requests.first.map { String(decoding: $0.body, as: UTF8.self).contains(LLMClientTests.key) } ?? true)
    }

    func testRetryAfterForms() {
        let now = Date(timeIntervalSince1970: 1_445_412_470)  // Wed, 21 Oct 2015 07:27:50 GMT
        XCTAssertEqual(RetryPolicy.delay(after: 1, retryAfter: "2", retryAfterMilliseconds: nil), 2)
        XCTAssertEqual(RetryPolicy.delay(after: 1, retryAfter: "2", retryAfterMilliseconds: "150"), 0.15)
        XCTAssertEqual(RetryPolicy.delay(after: 1, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", retryAfterMilliseconds: nil, now: now), 10)
        let backoff = RetryPolicy.delay(after: 2, retryAfter: "soon", retryAfterMilliseconds: nil)
        XCTAssertTrue((0.25...0.5).contains(backoff), "\(backoff)")
    }

    func testConfigurationFromTheEnvironment() throws {
        let seedStyle = try ServerConfiguration.load(flags: [:], environment: ["OPENAI_API_KEY": "sk-seed"], envFile: nil)
        XCTAssertEqual(seedStyle.llm.apiKey, "sk-seed")
        XCTAssertEqual(seedStyle.llm.completionsURL, "https://api.openai.com/v1/chat/completions")
        XCTAssertNil(seedStyle.llm.modelOverride)
        let explicit = try ServerConfiguration.load(flags: [:], environment: [
            "OPENAI_API_KEY": "sk-seed", "LLM_API_KEY": "sk-new", "LLM_BASE_URL": "http://localhost:11434/v1/",
            "LLM_MODEL": "llama3.2", "LLM_TIMEOUT_MS": "1500", "LLM_MAX_CONCURRENCY": "3", "LLM_CACHE_SIZE": "0",
        ], envFile: nil)
        XCTAssertEqual(explicit.llm.apiKey, "sk-new")
        XCTAssertEqual(explicit.llm.completionsURL, "http://localhost:11434/v1/chat/completions")
        XCTAssertEqual(explicit.llm.modelOverride, "llama3.2")
        XCTAssertEqual(explicit.llm.timeoutMilliseconds, 1500)
        XCTAssertEqual(explicit.llm.maximumConcurrency, 3)
        XCTAssertEqual(explicit.llm.cacheSize, 0)
        for (name, value, message) in [("LLM_TIMEOUT_MS", "soon", "LLM_TIMEOUT_MS must be an integer"),
                                       ("LLM_BASE_URL", "file:///etc/passwd", "LLM_BASE_URL must be an http:// or https:// URL"),
                                       ("LLM_MAX_CONCURRENCY", "0", "LLM_MAX_CONCURRENCY must be an integer from 1")] {
            XCTAssertThrowsError(try ServerConfiguration.load(flags: [:], environment: [name: value], envFile: nil)) { error in
                XCTAssertTrue("\(error)".contains(message), "\(error)")
            }
        }
        XCTAssertThrowsError(try ServerConfiguration.load(flags: [:], environment: ["LLM_API_KEY": "sk-a\nb"], envFile: nil)) { error in
            XCTAssertFalse("\(error)".contains("sk-a"), "the key is never echoed")
        }
    }
}
