import XCTest
@testable import RulesEngine

/// Per-evaluation limits: a runaway rule aborts its own evaluation with a clear error, and the next one works.
final class LimitsTests: XCTestCase {
    /// Rules that run `attack` for the message "attack" and score 2 otherwise.
    private func scorer(attack: String, limits: EngineLimits = EngineLimits()) throws -> Scorer {
        try RulesEngineTests.scorer(urgency: """
            function score(message)
              if message.text == "attack" then
                \(attack)
              end
              return 2
            end
            """, limits: limits)
    }

    func testEndlessLoopHitsTheInstructionBudgetAndTheNextEvaluationWorks() throws {
        var limits = EngineLimits()
        limits.instructionsPerEvaluation = 1_000_000
        let scorer = try scorer(attack: "while true do end", limits: limits)
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .instructionBudget)
        XCTAssertEqual(error?.file, "urgency.lua")
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.message, "instruction budget exceeded (1000000 instructions)")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testMemoryBombHitsTheCapAndTheNextEvaluationWorks() throws {
        var limits = EngineLimits()
        limits.memoryPerState = 8 << 20
        let scorer = try scorer(attack: "local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(64) .. i end", limits: limits)
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .memory)
        XCTAssertEqual(error?.message, "memory cap of the rules VM exceeded")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testHugeStringAllocationHitsTheCap() throws {
        var limits = EngineLimits()
        limits.memoryPerState = 8 << 20
        let scorer = try scorer(attack: "local s = ('x'):rep(100 * 1024 * 1024)", limits: limits)
        XCTAssertEqual(scoringError(scorer, "attack")?.kind, .memory)
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testCatastrophicLuaPatternIsBounded() throws {
        var limits = EngineLimits()
        limits.instructionsPerEvaluation = 2_000_000
        let scorer = try scorer(attack: "local found = (('a'):rep(20000)):find('.-.-.-b')", limits: limits)
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .instructionBudget)
        XCTAssertEqual(error?.message, "string pattern budget exceeded (2000000 steps): simplify the pattern or use re")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testCatastrophicRegexStopsAtTheMatchLimit() throws {
        let scorer = try RulesEngineTests.scorer(urgency: """
            local p = re.compile("(a+)+$")
            function score(message)
              local hit, why = p:test(message.text)
              if why then return 3, { why = why } end
              return hit and 5 or 1
            end
            """)
        let score = try scorer.score(ScoringInput(text: String(repeating: "a", count: 40) + "b"))
        XCTAssertEqual(score.value, 3)
        XCTAssertEqual(score.breakdown?.rules["why"], "match limit exceeded")
    }

    func testDeepRecursionIsAnErrorNotACrash() throws {
        let scorer = try scorer(attack: "local function f(n) return 1 + f(n + 1) end f(1)")
        let error = scoringError(scorer, "attack")
        XCTAssertEqual(error?.kind, .runtime)
        XCTAssertTrue(error?.message.contains("stack overflow") ?? false, error?.message ?? "")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testMetamethodRecursionIsAnErrorNotACrash() throws {
        let scorer = try scorer(attack: "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) local x = t.x")
        XCTAssertNotNil(scoringError(scorer, "attack"))
        XCTAssertEqual(try scorer.score(ScoringInput(text: "fine")).value, 2)
    }

    func testLimitsApplyWhileLoadingToo() throws {
        var limits = EngineLimits()
        limits.instructionsForLoading = 1_000_000
        let source = "while true do end\nfunction score() return 1 end"
        do {
            _ = try RulesEngineTests.scorer(urgency: source, limits: limits)
            XCTFail("expected the load to fail")
        } catch {
            XCTAssertEqual(error.kind, .limit)
            XCTAssertEqual(error.file, "urgency.lua")
            XCTAssertEqual(error.line, 1)
        }
    }
}

/// Many Lua states under one shared memory budget: together they cannot pass it, whatever each state's cap.
final class SharedMemoryBudgetTests: XCTestCase {
    func testStatesTogetherStayWithinTheSharedBudget() throws {
        let budget = LuaMemoryBudget(limit: 8 << 20)
        var limits = EngineLimits()
        limits.sharedMemory = budget
        let rules = """
        function score(message, ctx)
          if message.text == 'hog' then
            local t = {}
            for i = 1, 1e8 do t[i] = string.rep('y', 64) .. i end
          end
          return 2
        end
        """
        let hungry = try scorer(urgency: rules, limits: limits)
        XCTAssertLessThan(budget.used, 4 << 20, "one loaded state takes little of it")
        let error = try XCTUnwrap(scoringError(hungry, "hog"))
        XCTAssertEqual(error.kind, .memory)
        XCTAssertTrue(error.message.contains("the shared Lua memory budget of 8 MiB is used up"), error.message)
        // The state that ran into it was dropped, and gave its memory back.
        XCTAssertLessThan(budget.used, 4 << 20)
        XCTAssertEqual(try hungry.score(ScoringInput(text: "hello")).value, 2)
        // A state's own cap still applies below the budget.
        var small = limits
        small.memoryPerState = 2 << 20
        let capped = try XCTUnwrap(scoringError(try scorer(urgency: rules, limits: small), "hog"))
        XCTAssertEqual(capped.message, "memory cap of the rules VM exceeded")
    }
}

