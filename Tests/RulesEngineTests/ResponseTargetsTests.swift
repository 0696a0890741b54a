import RulesEngine
import XCTest

/// The response targets rules declare (`sla`): read at load, by level, durations with units; a malformed one
/// refuses the rule set with the reason.
final class ResponseTargetsTests: XCTestCase {
    private func scorer(_ declaration: String) throws -> Scorer {
        try Scorer(ruleSet: RuleSet(files: ["urgency.lua": Array("\(declaration)\nfunction score(message, ctx) return 3 end\n".utf8)]))
    }

    func testTargetsByLevelWithUnits() throws {
        let targets = try XCTUnwrap(try scorer(#"sla = { [5] = "15m", [4] = "1h", [3] = "4h", [2] = "1d", [1] = 90 }"#).responseTargets)
        XCTAssertEqual(targets.seconds, [5: 900, 4: 3600, 3: 14_400, 2: 86_400, 1: 90])
        XCTAssertEqual(targets.seconds(forScore: 4.6), 900, "rounded to level 5")
        XCTAssertEqual(targets.seconds(forScore: 0.2), 90, "at least level 1")
        XCTAssertEqual(targets.seconds(forScore: 7), 900, "at most level 5")
        let partial = try XCTUnwrap(try scorer(#"sla = { [5] = "30s", [4] = "2h" }"#).responseTargets)
        XCTAssertEqual(partial.seconds, [5: 30, 4: 7200])
        XCTAssertNil(partial.seconds(forScore: 2), "no target for levels left out")
        XCTAssertNil(try scorer("").responseTargets, "no sla, no targets")
    }

    func testMalformedTargetsRefuseTheRuleSet() {
        for (declaration, reason) in [(#"sla = "15m""#, "sla must be a table"), (#"sla = { [6] = "1h" }"#, "levels are 1 to 5"),
                                      (#"sla = { [5] = "soon" }"#, "sla[5]: a duration"), (#"sla = { [5] = -3 }"#, "sla[5]: a duration"),
                                      (#"sla = { fast = "1h" }"#, "keys are urgency levels")] {
            XCTAssertThrowsError(try scorer(declaration), declaration) { error in
                XCTAssertTrue("\(error)".contains(reason), "\(declaration): \(error)")
            }
        }
    }

    func testTheShippedProfilesDeclareTargets() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for profile in ["rules", "rules/profiles/seed", "rules/profiles/seed-variant"] {
            let scorer = try Scorer(rulesDirectory: repository.appendingPathComponent(profile).path)
            XCTAssertEqual(scorer.responseTargets?.seconds, [5: 900, 4: 3600, 3: 14_400, 2: 86_400, 1: 259_200], profile)
        }
    }
}
