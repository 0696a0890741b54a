import Foundation
import Synchronization
import XCTest
@testable import RulesEngine
import Support

/// A client that answers from a closure and records what the rules asked for.
final class RecordingLLMClient: LLMClient, @unchecked Sendable {
    private let answer: @Sendable (LLMRequest) -> LLMResult
    private let recorded = Mutex<[LLMRequest]>([])
    init(_ answer: @escaping @Sendable (LLMRequest) -> LLMResult) { self.answer = answer }
    var requests: [LLMRequest] { recorded.withLock { $0 } }
    func complete(_ request: LLMRequest) -> LLMResult {
        recorded.withLock { $0.append(request) }
        return answer(request)
    }
}

/// The `llm` module as rules see it: arguments, the reply or the reason, and the description of the call.
final class LLMModuleTests: XCTestCase {
    private let echo = """
    function score(message, ctx)
      local reply, reason, call = llm.complete{ system = "sys", prompt = "about: " .. message.text, model = "m1",
                                                temperature = 0.25, max_tokens = 7, timeout_ms = 1500 }
      return 1, { reply = reply, reason = reason, call = call }
    end
    """

    private func breakdown(_ scorer: Scorer, _ text: String, _ llm: LLMSource) throws -> JSONValue {
        try XCTUnwrap(scorer.score(ScoringInput(text: text), options: ScoringOptions(explain: true, llmEnabled: true, llm: llm))
            .breakdown?.json)
    }

    func testTheRulesRequestReachesTheClientAndTheCallIsDescribed() throws {
        let client = RecordingLLMClient { _ in
            LLMResult(reply: "4", latencyMilliseconds: 12.34, attempts: 2, httpStatus: 200, finishReason: "stop")
        }
        let json = try breakdown(try scorer(urgency: echo), "hello", .live(client))
        XCTAssertEqual(client.requests.last, LLMRequest(system: "sys", prompt: "about: hello", model: "m1", temperature: 0.25,
                                                        maxTokens: 7, timeoutMilliseconds: 1500))
        XCTAssertEqual(json["reply"], "4")
        XCTAssertEqual(json["reason"], nil)
        XCTAssertEqual(json["call"]?["latency_ms"]?.doubleValue, 12.3)
        XCTAssertEqual(json["call"]?["attempts"]?.doubleValue, 2)
        XCTAssertEqual(json["call"]?["cached"], false)
        XCTAssertEqual(json["call"]?["http_status"]?.doubleValue, 200)
        XCTAssertEqual(json["call"]?["finish_reason"], "stop")
    }

    func testReasonsReplaysAndTheUnconfiguredCase() throws {
        let rules = try scorer(urgency: echo)
        let failing = RecordingLLMClient { _ in LLMResult(reason: "timeout", latencyMilliseconds: 3000, attempts: 1) }
        XCTAssertEqual(try breakdown(rules, "x", .live(failing))["reason"], "timeout")
        XCTAssertEqual(try breakdown(rules, "x", .replay("5"))["reply"], "5")
        XCTAssertEqual(try breakdown(rules, "x", .replay(nil))["reason"], "no recorded reply")
        XCTAssertEqual(try breakdown(rules, "x", .unconfigured)["reason"], "not configured")
    }

    func testBadArgumentsAreErrorsAtTheRulesLine() throws {
        let cases: [(String, String)] = [
            ("llm.complete('just a prompt')", "llm.complete expects a table"),
            ("llm.complete{ system = 'x' }", "prompt is required"),
            ("llm.complete{ prompt = 5 }", "prompt must be a string, got number"),
            ("llm.complete{ prompt = 'p', temperature = 9 }", "temperature must be from 0 to 2"),
            ("llm.complete{ prompt = 'p', max_tokens = 2.5 }", "max_tokens must be a whole number"),
            ("llm.complete{ prompt = 'p', timeout_ms = 'soon' }", "timeout_ms must be a number, got string"),
            ("llm.complete{ prompt = 'p', model = {} }", "model must be a string, got table"),
        ]
        for (call, message) in cases {
            let rules = try scorer(urgency: "function score(message, ctx)\n  if ctx.llm_enabled then \(call) end\n  return 1\nend\n")
            let client = RecordingLLMClient { _ in LLMResult(reply: "1") }
            do {
                _ = try rules.score(ScoringInput(text: "x"), options: ScoringOptions(llmEnabled: true, llm: .live(client)))
                XCTFail("\(call) was accepted")
            } catch {
                XCTAssertEqual(error.line, 2, "\(call): \(error)")
                XCTAssertTrue(error.message.contains(message), "\(call): \(error)")
            }
            XCTAssertEqual(client.requests.count, 0)
        }
    }

    func testTheShippedRulesParseRepliesLikePythonsFloat() throws {
        let shipped = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        // "Hi" scores 1 on keywords; a usable reply r gives round(0.6 r + 0.4, 1).
        let replies: [(String, Double)] = [
            ("4", 2.8), (" 4\n", 2.8), ("4.0", 2.8), ("+4", 2.8), ("4.", 2.8), (".5e1", 3.4), ("1_0e-1", 1.0),
            ("\u{3000}4\u{00A0}", 2.8), ("0x4", 1.0), ("4_", 1.0), ("_4", 1.0), ("4__0", 1.0), ("four", 1.0), ("", 1.0),
            ("-4", 1.0), ("5.5", 1.0), ("nan", 1.0), ("Infinity", 1.0), ("4 .", 1.0), ("e4", 1.0), ("4e", 1.0),
        ]
        for (reply, expected) in replies {
            let score = try shipped.score(ScoringInput(text: "Hi"), options: ScoringOptions(explain: false, llmEnabled: true, llm: .replay(reply)))
            XCTAssertEqual(score.value, expected, "reply \(reply.debugDescription)")
        }
    }

    func testTheShippedRulesRecordTheCallInTheBreakdown() throws {
        let shipped = try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        let client = RecordingLLMClient { _ in LLMResult(reply: "2", latencyMilliseconds: 40, attempts: 1, httpStatus: 200) }
        let score = try shipped.score(ScoringInput(text: "My account was hacked"),
                                      options: ScoringOptions(explain: true, llmEnabled: true, llm: .live(client)))
        XCTAssertEqual(score.value, 3.2)
        let llm = try XCTUnwrap(score.breakdown?.json["llm"])
        XCTAssertEqual(llm["used"], true)
        XCTAssertEqual(llm["score"]?.doubleValue, 2)
        XCTAssertEqual(llm["latency_ms"]?.doubleValue, 40)
        XCTAssertEqual(llm["attempts"]?.doubleValue, 1)
        XCTAssertEqual(client.requests.first?.model, "gpt-4o-mini")
        XCTAssertEqual(client.requests.first?.temperature, 0.3)
        XCTAssertEqual(client.requests.first?.maxTokens, 10)
        XCTAssertNil(client.requests.first?.timeoutMilliseconds)
    }
}
