import Foundation
import Synchronization
import XCTest
@testable import RulesEngine
import Support

/// The Scorer: the contract with the rules, explanations, faults and concurrency.
final class ScorerTests: XCTestCase {
    private static let shipped: Scorer = {
        do {
            return try Scorer(rulesDirectory: Repository.seedRules, log: DiscardingLogSink())
        } catch {
            fatalError("the shipped rules do not load: \(error)")
        }
    }()

    func testBreakdownExplainsTierModifiersCapAndLLM() throws {
        let score = try Self.shipped.score(ScoringInput(text: "Why was my loan rejected??? please"))
        XCTAssertEqual(score.value, 5.0)
        let breakdown = try XCTUnwrap(score.breakdown)
        XCTAssertEqual(breakdown.urgency, 5.0)
        XCTAssertEqual(breakdown.rulesVersion, Self.shipped.rulesVersion)
        XCTAssertGreaterThan(breakdown.evaluationMicroseconds, 0)
        XCTAssertEqual(breakdown.rules["tier"], ["name": "high", "score": 4, "keyword": "loan rejected"])
        XCTAssertEqual(breakdown.rules["modifiers"], [
            ["name": "why-rejected", "add": 2.0], ["name": "repeated-question", "add": 0.5], ["name": "please", "add": 0.5],
        ])
        XCTAssertEqual(breakdown.rules["capped"], true)
        XCTAssertEqual(breakdown.rules["keyword_score"], 5.0)
        XCTAssertEqual(breakdown.rules["llm"], ["used": false, "skipped": "disabled"])
    }

    func testLLMStepExplainsWhyItWasSkippedWhenEnabledWithoutATransport() throws {
        let score = try Self.shipped.score(ScoringInput(text: "hello"), options: ScoringOptions(llmEnabled: true))
        XCTAssertEqual(score.value, 1.0)
        XCTAssertEqual(score.breakdown?.rules["llm"], ["used": false, "skipped": "not configured"])
    }

    func testBreakdownRoundTripsThroughJSON() throws {
        let breakdown = try XCTUnwrap(try Self.shipped.score(ScoringInput(text: "I will pay in 3 days")).breakdown)
        XCTAssertEqual(Breakdown(json: breakdown.json)?.rules, breakdown.rules)
        XCTAssertEqual(breakdown.json["urgency"], 3.5)
        XCTAssertEqual(breakdown.json["rules_version"]?.stringValue, Self.shipped.rulesVersion)
    }

    func testExplainedAndPlainScoresAgreeOnEveryFixture() throws {
        let table = try CSVTable(reader: CSVReader(path: Repository.seedGolden + "/scorer_parity.csv"))
        let column = try table.require("message")
        while let record = try table.next() {
            let input = ScoringInput(text: record.fields[column])
            let plain = try Self.shipped.score(input, options: ScoringOptions(explain: false))
            let explained = try Self.shipped.score(input, options: ScoringOptions(explain: true))
            XCTAssertNil(plain.breakdown)
            XCTAssertEqual(plain.value, explained.value, "line \(record.line)")
        }
    }

    func testMessageAndContextReachTheRules() throws {
        let scorer = try scorer(urgency: """
            function score(message, ctx)
              return (message.customer_id or 0) + (ctx.llm_enabled and 0.5 or 0), { explain = ctx.explain, text = message.text }
            end
            """)
        let score = try scorer.score(ScoringInput(text: "hi", customerID: 42), options: ScoringOptions(llmEnabled: true))
        XCTAssertEqual(score.value, 42.5)
        XCTAssertEqual(score.breakdown?.rules["explain"], true)
        XCTAssertEqual(score.breakdown?.rules["text"], "hi")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "hi")).value, 0)
    }

    func testResultsThatAreNotFiniteNumbersAreFaults() throws {
        for (expression, message) in [
            ("'4.5'", "score() must return a number, it returned a string"),
            ("nil", "score() must return a number, it returned a nil value"),
            ("0/0", "score() must return a finite number, it returned NaN"),
            ("-1/0", "score() must return a finite number, it returned -inf"),
            ("1/0", "score() must return a finite number, it returned inf"),
            ("{}", "score() must return a number, it returned a table value"),
        ] {
            let scorer = try scorer(urgency: "function score(m) if m.text == 'attack' then return \(expression) end return 1 end")
            let error = scoringError(scorer, "attack")
            XCTAssertEqual(error?.kind, .invalidResult, expression)
            XCTAssertEqual(error?.message, message, expression)
        }
    }

    func testRuntimeErrorsCarryFileAndLine() throws {
        let scorer = try scorer([
            "urgency.lua": "local helpers = require('lib.helpers')\nfunction score(m)\n  return helpers.check(m.text)\nend",
            "lib/helpers.lua": "local M = {}\nfunction M.check(text)\n  if text == 'attack' then error('no attacks allowed') end\n  return 1\nend\nreturn M",
        ])
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .runtime)
        XCTAssertEqual(error?.description, "lib/helpers.lua:3: no attacks allowed")
    }

    func testSpentStatesAreReplaced() throws {
        var limits = EngineLimits()
        limits.instructionsPerEvaluation = 100_000
        let scorer = try scorer(urgency: "function score(m) if m.text == 'loop' then while true do end end return 2 end", limits: limits)
        for _ in 0..<5 {
            XCTAssertEqual(scoringError(scorer, "loop")?.kind, .instructionBudget)
            XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
        }
    }

    func testConcurrentScoringGivesTheSameAnswersAsSequential() throws {
        let messages = (0..<400).map { "message \($0): why was my loan rejected?? \($0 % 7) days" + ($0 % 3 == 0 ? " fraud" : "") }
        let expected = try messages.map { try Self.shipped.score(ScoringInput(text: $0), options: ScoringOptions(explain: false)).value }
        let mismatches = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<5 {
                for (i, message) in messages.enumerated() where (i + worker + round) % 2 == 0 {
                    do {
                        let value = try Self.shipped.score(ScoringInput(text: message), options: ScoringOptions(explain: worker % 2 == 0)).value
                        if value != expected[i] { mismatches.add(1, ordering: .relaxed) }
                    } catch {
                        failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        XCTAssertEqual(mismatches.load(ordering: .relaxed), 0)
        XCTAssertEqual(failures.load(ordering: .relaxed), 0)
    }

    func testLogLinesReachTheSinkAndAreCappedPerEvaluation() throws {
        final class Recorder: RuleLogSink, @unchecked Sendable {
            let lines = Mutex<[String]>([])
            func write(level: RuleLogLevel, message: String, rulesVersion: String) {
                lines.withLock { $0.append("\(level.rawValue): \(message)") }
            }
        }
        let recorder = Recorder()
        var limits = EngineLimits()
        limits.logLinesPerEvaluation = 3
        let ruleSet = try RuleSet(files: ["urgency.lua": Array("""
            function score(m)
              if m.text == 'chatty' then for i = 1, 10 do log.warn('line %d', i) end print('x', 1) end
              return 1
            end
            """.utf8)])
        let scorer = try Scorer(ruleSet: ruleSet, limits: limits, log: recorder)
        _ = try scorer.score(ScoringInput(text: "chatty"))
        XCTAssertEqual(recorder.lines.withLock { $0 }, [
            "warn: line 1", "warn: line 2", "warn: line 3 (further log lines of this evaluation are dropped)",
        ])
    }

    /// Breakdown tables become JSON lists exactly when their keys are 1...n, however the table was built (`next`
    /// walks the hash part in node order, so a key after `#t` there says nothing about the keys before it).
    func testBreakdownTablesBecomeListsOnlyWhenTheirKeysAreOneToN() throws {
        let rules = try scorer(urgency: """
            function score(message, ctx)
              local grown = {}
              for i = 1, 3 do grown[i] = i * 10 end
              local holed = {1, 2, 3}
              holed[2] = nil
              return 1, {
                constructed = {[1] = "a", [2] = "b", [3] = "c"},
                zero = {[0] = "z", [1] = "a", [2] = "b"},
                named = {[1] = "a", [2] = "b", name = "x"},
                grown = grown, holed = holed, plain = {"p", "q"}, empty = {},
              }
            end
            """)
        let details = try XCTUnwrap(try rules.score(ScoringInput(text: "x"), options: ScoringOptions(explain: true)).breakdown?.rules)
        XCTAssertEqual(details["constructed"], ["a", "b", "c"])
        XCTAssertEqual(details["zero"], ["0": "z", "1": "a", "2": "b"])
        XCTAssertEqual(details["named"], ["1": "a", "2": "b", "name": "x"])
        XCTAssertEqual(details["grown"], [10, 20, 30])
        XCTAssertEqual(details["holed"], ["1": 1, "3": 3])
        XCTAssertEqual(details["plain"], ["p", "q"])
        XCTAssertEqual(details["empty"], [])
    }
}
