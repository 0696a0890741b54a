import XCTest
@testable import RulesEngine

/// Broken rule sets are refused at load with errors naming the file and line.
final class LoadErrorTests: XCTestCase {
    func testSyntaxErrorNamesFileAndLine() {
        let error = loadError(["urgency.lua": "function score(message)\n  return 1 +\nend\n"])
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.file, "urgency.lua")
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.description, "urgency.lua:3: syntax error: unexpected symbol near 'end'")
    }

    func testSyntaxErrorInARequiredModuleNamesThatModule() {
        let error = loadError([
            "urgency.lua": "local lib = require('lib.helpers')\nfunction score() return 1 end",
            "lib/helpers.lua": "return {\n  a = ,\n}",
        ])
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.file, "lib/helpers.lua")
        XCTAssertEqual(error?.line, 2)
    }

    func testAFileNothingRequiresMustCompileToo() {
        let error = loadError(["urgency.lua": "function score() return 1 end\n", "scratch.lua": "x = \n"])
        XCTAssertEqual(error?.kind, .syntax)
        XCTAssertEqual(error?.description, "scratch.lua:2: syntax error: unexpected symbol near <eof>")
        let nested = loadError(["urgency.lua": "function score() return 1 end\n", "lib/old/draft.lua": "return {\n"])
        XCTAssertEqual(nested?.file, "lib/old/draft.lua")
    }

    func testRuntimeErrorAtLoadNamesFileAndLine() {
        let error = loadError(["urgency.lua": "local x = nil\nlocal y = x.field\nfunction score() return 1 end"])
        XCTAssertEqual(error?.kind, .runtime)
        XCTAssertEqual(error?.description, "urgency.lua:2: attempt to index a nil value (local 'x')")
    }

    func testMissingEntryFileIsAClearError() {
        XCTAssertThrowsError(try RuleSet(files: ["lib/helpers.lua": Array("return {}".utf8)])) { error in
            XCTAssertEqual((error as? RulesError)?.kind, .missingEntry)
            XCTAssertTrue("\(error)".contains("no urgency.lua"), "\(error)")
        }
    }

    func testMissingDirectoryIsAClearError() {
        XCTAssertThrowsError(try RuleSet.load(from: "/nonexistent/rules")) { error in
            XCTAssertEqual((error as? RulesError)?.kind, .unreadable)
        }
    }

    func testDirectoryWithoutEntryFileIsAClearError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("helpers.lua", "return {}")
        XCTAssertThrowsError(try RuleSet.load(from: directory.path)) { error in
            XCTAssertEqual((error as? RulesError)?.kind, .missingEntry)
        }
    }

    func testScoreMustBeAFunction() {
        XCTAssertEqual(loadError(["urgency.lua": "RULES = {}"])?.kind, .missingScore)
        XCTAssertEqual(loadError(["urgency.lua": "score = 5"])?.kind, .missingScore)
    }

    func testRulesThatFailOnTheProbeAreRefused() {
        let error = loadError(["urgency.lua": "function score(message) return message.nothing.here end"])
        XCTAssertEqual(error?.kind, .probe)
        XCTAssertEqual(error?.line, 1)
    }

    func testBadRegexIsReportedAtTheRuleLine() {
        let error = loadError(["urgency.lua": "local p = re.compile('(unclosed')\nfunction score() return 1 end"])
        XCTAssertEqual(error?.kind, .runtime)
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.message, "re.compile: missing closing parenthesis at offset 9 in pattern (unclosed")
    }

    func testEmptyKeywordIsRefused() {
        let error = loadError(["urgency.lua": "local t = keywords.tiers{{name='x', score=5, keywords={'a', ''}}}\nfunction score() return 1 end"])
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.message,
                       "keywords.tiers: keyword 2 of group 1 is empty (an empty keyword would match every message)")
    }

    func testAConstantScoreIsAValidRuleSet() throws {
        let scorer = try scorer(urgency: "function score() return 3 end")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "anything")).value, 3)
    }

    func testDirectoryLoadingSkipsHiddenFilesBackupsAndNestedRuleSets() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try directory.write("urgency.lua", "local h = require('lib.helper')\nfunction score() return h end")
        try directory.write("lib/helper.lua", "return 2")
        try directory.write(".urgency.lua.swp", "garbage")
        try directory.write("urgency.lua~", "garbage")
        try directory.write("notes.txt", "not a rule")
        try directory.write("profiles/other/urgency.lua", "function score() return 5 end")
        let ruleSet = try RuleSet.load(from: directory.path)
        XCTAssertEqual(Set(ruleSet.files.keys), ["urgency.lua", "lib/helper.lua"])
        XCTAssertEqual(try Scorer(ruleSet: ruleSet, log: DiscardingLogSink()).score(ScoringInput(text: "x")).value, 2)
    }

    func testVersionIsAContentHash() throws {
        let a = try RuleSet(files: ["urgency.lua": Array("function score() return 1 end".utf8)])
        let b = try RuleSet(files: ["urgency.lua": Array("function score() return 1 end".utf8)])
        let c = try RuleSet(files: ["urgency.lua": Array("function score() return 2 end".utf8)])
        let d = try RuleSet(files: ["urgency.lua": Array("function score() return 1 end".utf8), "x.lua": []])
        XCTAssertEqual(a.version, b.version)
        XCTAssertNotEqual(a.version, c.version)
        XCTAssertNotEqual(a.version, d.version)
        XCTAssertEqual(a.version.count, 12)
        XCTAssertEqual(a.hash.count, 64)
    }

    func testPathsEscapingTheRuleSetAreRefused() {
        XCTAssertThrowsError(try RuleSet(files: ["urgency.lua": [], "../evil.lua": []]))
        XCTAssertThrowsError(try RuleSet(files: ["urgency.lua": [], "/etc/evil.lua": []]))
    }
}

/// The shipped rules report a wrong tier, modifier or intent at the line that declares it, naming it.
final class DeclarationErrorTests: XCTestCase {
    /// The shipped urgency.lua with `original` replaced by `replacement`; and the line that now holds it.
    private func shipped(replacing original: String, with replacement: String, in profile: String = Repository.seedRules)
        throws -> (source: String, line: Int) {
        let source = try String(contentsOfFile: profile + "/urgency.lua", encoding: .utf8)
        XCTAssertTrue(source.contains(original), original)
        let edited = source.replacingOccurrences(of: original, with: replacement)
        let lines = edited.components(separatedBy: "\n")
        let line = try XCTUnwrap(lines.firstIndex { $0.contains(replacement) }) + 1
        return (edited, line)
    }

    func testABadPatternNamesItsModifierAtItsLine() throws {
        let (source, line) = try shipped(replacing: #"pattern = [[\b\d+\s*(days?|weeks?|months?)\b]]"#,
                                         with: #"pattern = [[\b\d+\s*(days?|weeks?|months?\b]]"#)
        let error = try XCTUnwrap(loadError(["urgency.lua": source]))
        XCTAssertEqual(error.line, line)
        XCTAssertTrue(error.description.hasPrefix("urgency.lua:\(line): modifier \"duration\": re.compile: "), error.description)
    }

    func testANonNumericTierScoreNamesItsTierAtItsLine() throws {
        let (source, line) = try shipped(replacing: #"tier { name = "medium", score = 3,"#,
                                         with: #"tier { name = "medium", score = "3x","#)
        XCTAssertEqual(loadError(["urgency.lua": source])?.description,
                       "urgency.lua:\(line): tier \"medium\": score must be a number, got string")
    }

    func testTheDefaultProfileNamesAWrongIntentAtItsLine() throws {
        let vocabulary = try String(contentsOfFile: Repository.rules + "/vocabulary.lua", encoding: .utf8)
        let (source, line) = try shipped(replacing: #"intent { name = "promise to pay", level = 3,"#,
                                         with: #"intent { name = "promise to pay", level = "3","#, in: Repository.rules)
        XCTAssertEqual(loadError(["urgency.lua": source, "vocabulary.lua": vocabulary])?.description,
                       "urgency.lua:\(line): intent \"promise to pay\": level must be a number, got string")
        // a concept no vocabulary declares is named by the lexicon, at the line that compiles it
        let (unknown, _) = try shipped(replacing: #"when = { "promise" } },"#, with: #"when = { "promisse" } },"#, in: Repository.rules)
        let error = try XCTUnwrap(loadError(["urgency.lua": unknown, "vocabulary.lua": vocabulary]))
        XCTAssertTrue(error.description.contains("intent \"promise to pay\": unknown concept promisse"), error.description)
    }

    func testTheVariantProfileReportsTheSameWay() throws {
        let (source, line) = try shipped(replacing: #"modifier { name = "duration", pattern = [[\d+\s*(days?|weeks?)]], flags = "i", add = 0.5 }"#,
                                         with: #"modifier { name = "duration", pattern = [[\d+\s*(days?|weeks?)]], flags = "i", add = "half" }"#,
                                         in: Repository.variantRules)
        XCTAssertEqual(loadError(["urgency.lua": source])?.description,
                       "urgency.lua:\(line): modifier \"duration\": add must be a number, got string")
    }
}
