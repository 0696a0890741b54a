import XCTest
@testable import RulesEngine
import Support

/// The sandbox: what rules cannot reach, and that each attempt fails with a clear error.
final class SandboxTests: XCTestCase {
    /// Scores "attack" with `body` run inside score() for that message only (the probe message passes);
    /// returns the failure.
    private func failure(of body: String, file: StaticString = #filePath, line: UInt = #line) throws -> ScoringError? {
        let scorer = try scorer(urgency: "function score(message, ctx)\nif message.text == 'attack' then \(body) end\nreturn 1\nend\n")
        return scoringError(scorer, "attack", file: file, line: line)
    }

    func testOperatingSystemAccessIsAbsent() throws {
        XCTAssertEqual(try failure(of: "os.execute('true')")?.message, "attempt to call a nil value (field 'execute')")
        XCTAssertEqual(try failure(of: "os.exit(1)")?.message, "attempt to call a nil value (field 'exit')")
        XCTAssertEqual(try failure(of: "os.getenv('HOME')")?.message, "attempt to call a nil value (field 'getenv')")
        XCTAssertEqual(try failure(of: "io.open('/etc/passwd')")?.message, "attempt to index a nil value (global 'io')")
    }

    func testAllowedOsFunctionsWork() throws {
        let scorer = try scorer(urgency: "function score() return (os.time() > 0 and os.clock() >= 0 and #os.date('%Y') == 4) and 2 or 0 end")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "x")).value, 2)
    }

    func testDebugPackageAndFileLoadingAreAbsent() throws {
        XCTAssertEqual(try failure(of: "debug.getinfo(1)")?.message, "attempt to index a nil value (global 'debug')")
        XCTAssertEqual(try failure(of: "package.loadlib('x', 'y')")?.message, "attempt to index a nil value (global 'package')")
        XCTAssertEqual(try failure(of: "dofile('/etc/passwd')")?.message, "attempt to call a nil value (global 'dofile')")
        XCTAssertEqual(try failure(of: "loadfile('/etc/passwd')")?.message, "attempt to call a nil value (global 'loadfile')")
        XCTAssertEqual(try failure(of: "collectgarbage()")?.message, "attempt to call a nil value (global 'collectgarbage')")
        XCTAssertEqual(try failure(of: "coroutine.create(print)")?.message, "attempt to index a nil value (global 'coroutine')")
    }

    func testStringDumpIsAbsentEvenThroughMethods() throws {
        XCTAssertEqual(try failure(of: "string.dump(score)")?.message, "attempt to call a nil value (field 'dump')")
        XCTAssertEqual(try failure(of: "('x').dump(score)")?.message, "attempt to call a nil value (field 'dump')")
    }

    func testBinaryChunksAreRefused() throws {
        // A binary chunk starts with "\27Lua"; load must refuse it whatever mode the rule asks for.
        let error = try failure(of: "local f, e = load('\\27Lua\\84\\0', 'x', 'b') if not f then error(e, 0) end")
        XCTAssertEqual(error?.message, "attempt to load a binary chunk (mode is 't')")
        XCTAssertEqual(try failure(of: "local f, e = load(function() return nil end) if not f then error(e, 0) end")?.message,
                       "load: rules may load source text only")
    }

    func testTextLoadWorksInTheSandbox() throws {
        let scorer = try scorer(urgency: "function score() return load('return 1 + 2')() end")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "x")).value, 3)
    }

    func testGlobalsAreReadOnlyWhileScoring() throws {
        let error = try failure(of: "leak = 1")
        XCTAssertEqual(error?.message, "attempt to assign to global 'leak' while scoring: globals are read-only (use a local)")
        XCTAssertEqual(error?.file, "urgency.lua")
        XCTAssertEqual(error?.line, 2)
    }

    func testRemovingTheGlobalsMetatableDoesNotLiftTheProtection() throws {
        XCTAssertEqual(try failure(of: "setmetatable(_G, nil) leak = 1")?.message, "setmetatable: the table is read-only")
        XCTAssertEqual(try failure(of: "rawset(_G, 'leak', 1)")?.message, "rawset: the table is read-only")
        XCTAssertEqual(try failure(of: "getmetatable(_G).__newindex = nil")?.message,
                       "attempt to index a boolean value")
    }

    func testLibrariesAreReadOnly() throws {
        XCTAssertEqual(try failure(of: "string.upper = nil")?.message, "attempt to assign to string.upper: it is read-only")
        XCTAssertEqual(try failure(of: "math.pi = 3")?.message, "attempt to assign to math.pi: it is read-only")
        XCTAssertEqual(try failure(of: "re.compile = nil")?.message, "attempt to assign to re.compile: it is read-only")
        XCTAssertEqual(try failure(of: "ctx.llm_enabled = true")?.message, "attempt to assign to ctx.llm_enabled: it is read-only")
        XCTAssertEqual(try failure(of: "getmetatable('').__index = {}")?.message, "attempt to index a boolean value")
    }

    func testGarbageCollectorMetamethodsAreRefused() throws {
        XCTAssertEqual(try failure(of: "setmetatable({}, {__gc = function() while true do end end})")?.message,
                       "setmetatable: __gc metamethods are not allowed in rules")
    }

    func testRequireStaysInsideTheRulesDirectory() throws {
        for (name, message) in [
            ("../etc/passwd", "require: invalid module name ../etc/passwd (use a dotted name such as 'lib.tiers')"),
            ("/etc/passwd", "require: invalid module name /etc/passwd (use a dotted name such as 'lib.tiers')"),
            ("os", "require: module 'os' not found: no os.lua in the rules directory"),
            ("lib..x", "require: invalid module name lib..x (use a dotted name such as 'lib.tiers')"),
        ] {
            XCTAssertEqual(try failure(of: "local ok, e = pcall(require, \(JSONValue.string(name).jsonText)) error(e, 0)")?.message,
                           message, name)
        }
    }

    func testRequireLoadsModulesOfTheRuleSet() throws {
        let scorer = try scorer([
            "urgency.lua": "local tiers = require('lib.numbers')\nfunction score() return tiers.answer end",
            "lib/numbers.lua": "return { answer = 4.5 }",
        ])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "x")).value, 4.5)
    }

    func testPcallCannotSwallowTheInstructionBudget() throws {
        var limits = EngineLimits()
        limits.instructionsPerEvaluation = 100_000
        let scorer = try scorer(urgency: """
            function score(message)
              if message.text == 'attack' then while true do pcall(function() while true do end end) end end
              return 1
            end
            """, limits: limits)
        XCTAssertEqual(scoringError(scorer, "attack")?.kind, .instructionBudget)
    }
}
