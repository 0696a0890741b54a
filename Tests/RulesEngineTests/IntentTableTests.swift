import Foundation
import XCTest
@testable import RulesEngine
import Support

/// How a profile's intents are decided (`IntentTable`): the most urgent counting intent wins, the first declared
/// among equals; `unless` blocks an intent; a `when` entry that is a list needs all its concepts; weak intents
/// only when no other intent counts and nothing outside the minor concepts is active; nil when nothing counts; the
/// score: the level (or the default), the modifiers' step within ±max_shift, the floor and the cap, the decimals.
final class IntentTableTests: XCTestCase {
    private static let conceptNames = ["rejected", "loan", "late", "fraud", "scam_check", "thanks", "greeting", "question", "blocked"]

    private func table(_ intents: [JSONValue], minor: [String] = []) throws -> IntentTable {
        let concepts = Dictionary(uniqueKeysWithValues: Self.conceptNames.enumerated().map { ($0.element, $0.offset) })
        return try IntentTable(["intents": .array(intents), "minor": .array(minor.map(JSONValue.string))], concepts: concepts)
    }

    private func intent(_ name: String, _ level: Double, _ when: [JSONValue], unless: [String] = [], weak: Bool = false) -> JSONValue {
        ["name": .string(name), "level": .number(level), "when": .array(when), "unless": .array(unless.map(JSONValue.string)),
         "weak": .bool(weak)]
    }

    private func active(_ names: String...) -> IntentTable.Concepts {
        var set = IntentTable.Concepts()
        for name in names { set.insert(Self.conceptNames.firstIndex(of: name)!) }
        return set
    }

    /// The name of the intent chosen for these concepts, or nil.
    private func chosen(_ table: IntentTable, _ names: String...) -> String? {
        var set = IntentTable.Concepts()
        for name in names { set.insert(Self.conceptNames.firstIndex(of: name)!) }
        return table.choose(set).map { table.names[$0] }
    }

    func testTheMostUrgentCountingIntentWins() throws {
        let intents = try table([intent("loan rejected", 4, ["rejected"]), intent("fraud", 5, ["fraud"]), intent("late", 3, ["late"])])
        XCTAssertEqual(chosen(intents, "rejected"), "loan rejected")
        XCTAssertEqual(chosen(intents, "rejected", "fraud", "late"), "fraud")
        XCTAssertEqual(chosen(intents, "late", "rejected"), "loan rejected")
        XCTAssertEqual(intents.counting(active("late", "rejected", "fraud")), [0, 1, 2], "every counting intent, in declaration order")
    }

    func testTheFirstDeclaredWinsATie() throws {
        let ab = try table([intent("a", 4, ["rejected"]), intent("b", 4, ["late"])])
        XCTAssertEqual(chosen(ab, "late", "rejected"), "a")
        let ba = try table([intent("b", 4, ["late"]), intent("a", 4, ["rejected"])])
        XCTAssertEqual(chosen(ba, "late", "rejected"), "b")
    }

    func testUnlessBlocksAnIntent() throws {
        let intents = try table([intent("fraud", 5, ["fraud"], unless: ["scam_check"]), intent("is this you?", 2, ["scam_check"])])
        XCTAssertEqual(chosen(intents, "fraud"), "fraud")
        XCTAssertEqual(chosen(intents, "fraud", "scam_check"), "is this you?")
        XCTAssertEqual(intents.counting(active("fraud", "scam_check")), [1])
        let single = try table([intent("fraud", 5, ["fraud"], unless: ["scam_check", "question"])])
        XCTAssertNil(chosen(single, "fraud", "question"), "any one of the unless concepts blocks it")
    }

    func testAWhenEntryThatIsAListNeedsAllItsConcepts() throws {
        let intents = try table([intent("loan rejected late", 5, [["loan", "rejected", "late"], "fraud"]),
                                 intent("loan", 2, ["loan"])])
        XCTAssertEqual(chosen(intents, "loan", "rejected"), "loan", "two of the three concepts are not enough")
        XCTAssertEqual(chosen(intents, "loan", "rejected", "late"), "loan rejected late")
        XCTAssertEqual(chosen(intents, "fraud"), "loan rejected late", "any one entry of when is enough")
        XCTAssertNil(chosen(intents, "rejected", "late"))
    }

    func testWeakIntentsOnlyWhenNothingElseIsActive() throws {
        let intents = try table([intent("loan rejected", 4, ["rejected"]), intent("question", 2, ["question"]),
                                 intent("thanks", 1, ["thanks"], weak: true), intent("greeting", 1.5, ["greeting"], weak: true)],
                                minor: ["thanks", "greeting", "question"])
        XCTAssertEqual(chosen(intents, "thanks"), "thanks")
        XCTAssertEqual(chosen(intents, "thanks", "greeting"), "greeting", "the most urgent weak intent")
        XCTAssertEqual(chosen(intents, "thanks", "rejected"), "loan rejected", "thanks, but my loan was rejected")
        XCTAssertEqual(chosen(intents, "thanks", "question"), "question", "a counting intent beats a weak one")
        XCTAssertNil(chosen(intents, "thanks", "loan"), "a concept outside the minor ones: not a thank-you, and no intent of its own")
        // A weak intent loses to any counting one, even a less urgent one.
        let upside = try table([intent("loan", 2, ["loan"]), intent("urgent thanks", 5, ["thanks"], weak: true)], minor: ["thanks"])
        XCTAssertEqual(chosen(upside, "thanks", "loan"), "loan")
        XCTAssertEqual(chosen(upside, "thanks"), "urgent thanks")
        // A weak intent's own concepts must be minor ones: without them listed, it never wins.
        let bare = try table([intent("thanks", 1, ["thanks"], weak: true)])
        XCTAssertNil(chosen(bare, "thanks"))
        XCTAssertEqual(bare.counting(active("thanks")), [0], "it counts, it just does not win")
    }

    func testNothingCounting() throws {
        let intents = try table([intent("fraud", 5, ["fraud"]), intent("thanks", 1, ["thanks"], weak: true)], minor: ["thanks"])
        XCTAssertNil(chosen(intents))
        XCTAssertNil(chosen(intents, "blocked"))
        XCTAssertEqual(intents.counting(IntentTable.Concepts()), [])
    }

    func testConceptsBeyondTheFirstMask() throws {
        let names = (0..<256).map { "c\($0)" }
        let concepts = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($0.element, $0.offset) })
        let intents = try IntentTable(["intents": [
            ["name": "low", "level": 2, "when": ["c0"]],
            ["name": "pair", "level": 4, "when": [["c63", "c64"]]],
            ["name": "last", "level": 5, "when": ["c255"], "unless": ["c128"]],
        ]], concepts: concepts)
        var set = IntentTable.Concepts()
        for index in [0, 63, 64] { set.insert(index) }
        XCTAssertEqual(intents.choose(set).map { intents.names[$0] }, "pair")
        set.insert(255)
        XCTAssertEqual(intents.choose(set).map { intents.names[$0] }, "last")
        set.insert(128)
        XCTAssertEqual(intents.choose(set).map { intents.names[$0] }, "pair", "c128 (third mask) blocks c255 (fourth)")
        var alone = IntentTable.Concepts()
        alone.insert(64)
        XCTAssertNil(intents.choose(alone), "c64 alone is half the pair")
    }

    func testMalformedIntentsAreRefusedWithTheirName() throws {
        func error(_ intents: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> String? {
            do {
                _ = try IntentTable(["intents": intents], concepts: ["a": 0])
                XCTFail("expected the intents to be refused", file: file, line: line)
                return nil
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(error("x"), "intents must be a list")
        XCTAssertEqual(error([["level": 1, "when": ["a"]]]), "intent 1 needs a name")
        XCTAssertEqual(error([["name": "x", "level": "high", "when": ["a"]]]), "intent \"x\": level must be a number")
        XCTAssertEqual(error([["name": "x", "level": 1, "when": []]]), "intent \"x\": when must list concepts")
        XCTAssertEqual(error([["name": "x", "level": 1, "when": [[]]]]), "intent \"x\": an empty when entry")
        XCTAssertEqual(error([["name": "x", "level": 1, "when": ["b"]]]), "intent \"x\": unknown concept b")
        XCTAssertEqual(error([["name": "x", "level": 1, "when": ["a"], "unless": ["b"]]]), "intent \"x\": unknown concept b")
        XCTAssertEqual(error([["name": "x", "level": 1, "when": [3]]]), "intent \"x\": expected a concept name or a list of them")
    }

    func testModifiersStepWithinALevelAndTheScoreIsRoundedInTheHost() throws {
        let concepts = Dictionary(uniqueKeysWithValues: Self.conceptNames.enumerated().map { ($0.element, $0.offset) })
        let modifier = { (name: String, add: Double, when: String) -> JSONValue in
            ["name": .string(name), "add": .number(add), "when": .array([.string(when)])]
        }
        let spec: JSONValue = [
            "intents": .array([intent("loan rejected", 4, ["rejected"]), intent("fraud", 5, ["fraud"]),
                               intent("thanks", 1, ["thanks"], weak: true)]),
            "modifiers": .array([modifier("why", 0.03, "question"), modifier("money", 0.02, "loan"),
                                 modifier("thanks", -0.02, "thanks"), modifier("late", 0.03, "late")]),
            "minor": ["thanks"], "max_shift": 0.04, "default_level": 2, "floor": 1, "cap": 5, "decimals": 2,
        ]
        let table = try IntentTable(spec, concepts: concepts)
        XCTAssertEqual(table.modifierNames, ["why", "money", "thanks", "late"])
        XCTAssertEqual(table.rate(active("rejected")).score, 4)
        XCTAssertEqual(table.rate(active("rejected")).chosen, 0)
        XCTAssertEqual(table.rate(active("rejected", "question")).score, 4.03)
        XCTAssertEqual(table.rate(active("rejected", "question", "thanks")).score, 4.01, "steps add up")
        XCTAssertEqual(table.rate(active("rejected", "question", "loan", "late")).score, 4.04, "0.08 is held to max_shift")
        XCTAssertEqual(table.applying(active("rejected", "question", "loan", "late")), [0, 1, 3])
        XCTAssertEqual(table.rate(active("fraud", "question")).score, 5, "never past the cap")
        XCTAssertEqual(table.rate(active("thanks")).score, 1, "never below the floor")
        XCTAssertEqual(table.rate(active("question")).score, 2.03, "no intent: the default level")
        XCTAssertNil(table.rate(active("question")).chosen)
        XCTAssertEqual(table.shift(active("loan")), 0.02)
        // Without decimals the score is not rounded; without max_shift the steps are not held.
        let loose = try IntentTable(["intents": .array([intent("a", 3, ["late"])]),
                                     "modifiers": .array([modifier("m", 0.3, "late"), modifier("n", 0.333, "loan")])], concepts: concepts)
        XCTAssertEqual(loose.rate(active("late", "loan")).score, 3.633, accuracy: 1e-12)
        XCTAssertThrowsError(try IntentTable(["intents": .array([]), "modifiers": .array([["name": "m", "add": "x", "when": ["late"]]])],
                                             concepts: concepts)) { error in
            XCTAssertEqual("\(error)", "modifier \"m\": add must be a number")
        }
    }
}
