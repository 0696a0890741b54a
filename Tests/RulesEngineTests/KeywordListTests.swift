import Foundation
import XCTest
@testable import RulesEngine

/// Keyword lists kept in files of the rules (`keywords.list("….keywords")`): read by the host into the shared
/// automaton, part of the version, reloaded like any rule file.
final class KeywordListTests: XCTestCase {
    private let rules = """
        local tiers = keywords.tiers{
          { name = "places", score = 4, keywords = keywords.list("lists/places.keywords") },
          { name = "inline", score = 2, keywords = { "hello" } },
        }
        local set = keywords.set(keywords.list("lists/places.keywords"))
        function score(message)
          local tier, keyword = tiers:best(message.text)
          return tier or 0, { keyword = keyword, first = set:first(message.text) }
        end
        """

    func testAListFileIsATiersKeywords() throws {
        let scorer = try scorer([
            "urgency.lua": rules,
            "lists/places.keywords": "# places, one per line\nNairobi West\r\n\n  \nMombasa Road\nkisumu\n",
        ])
        let hit = try scorer.score(ScoringInput(text: "I am at MOMBASA ROAD, hello"))
        XCTAssertEqual(hit.value, 1, "the list's tier, the best")
        XCTAssertEqual(hit.breakdown?.rules["keyword"], "Mombasa Road", "as the list wrote it (CRLF and comments dropped)")
        XCTAssertEqual(hit.breakdown?.rules["first"], "Mombasa Road")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "hello from nairobi west")).value, 1)
        XCTAssertEqual(try scorer.score(ScoringInput(text: "hello")).value, 2)
        XCTAssertEqual(try scorer.score(ScoringInput(text: "# places")).value, 0, "comments are not keywords")
    }

    func testTheListIsPartOfTheVersionAndMustExist() throws {
        let one = try RuleSet(files: ["urgency.lua": Array(rules.utf8), "lists/places.keywords": Array("a\n".utf8)])
        let two = try RuleSet(files: ["urgency.lua": Array(rules.utf8), "lists/places.keywords": Array("b\n".utf8)])
        XCTAssertNotEqual(one.version, two.version, "editing a list is a new version")
        XCTAssertEqual(loadError(["urgency.lua": rules])?.message.contains("no keyword list lists/places.keywords in the rules"), true)
        XCTAssertEqual(loadError(["urgency.lua": "keywords.list('x.txt')\nfunction score() return 1 end"])?.message
            .contains("keywords.list expects the path of a .keywords file"), true)
    }

    func testListFilesAreReadFromTheRulesDirectoryWithTheirOwnSizeLimit() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-lists-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("lists"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try rules.write(to: directory.appendingPathComponent("urgency.lua"), atomically: true, encoding: .utf8)
        // Larger than a Lua file may be (4 MiB), within a list's limit (64 MiB).
        let big = (0..<400_000).map { "place number \($0) x" }.joined(separator: "\n")
        try big.write(to: directory.appendingPathComponent("lists/places.keywords"), atomically: true, encoding: .utf8)
        XCTAssertGreaterThan(big.utf8.count, RuleSet.maximumFileBytes)
        let scorer = try Scorer(rulesDirectory: directory.path, log: DiscardingLogSink())
        XCTAssertEqual(try scorer.score(ScoringInput(text: "near PLACE NUMBER 399999 X now")).breakdown?.rules["keyword"], "place number 399999 x")
    }

    func testAConceptsPhrasesMayBeAListFile() throws {
        let scorer = try scorer([
            "urgency.lua": """
                local lex = lexicon.compile{ concepts = {
                  { name = "place", phrases = lexicon.list("places.keywords") },
                  { name = "greeting", phrases = { "hello" } },
                } }
                function score(message)
                  local place, greeting = lex:scan(message.text)
                  return place, { explained = lex:explain(message.text) }
                end
                """,
            "places.keywords": "# places\nnairobi west\nmombasa road\n",
        ])
        XCTAssertEqual(try scorer.score(ScoringInput(text: "I am on Mombasa Road")).value, 1, "concept 1 is bit 0")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "hello")).value, 2, "concept 2 is bit 1")
        XCTAssertEqual(try scorer.score(ScoringInput(text: "mombasa")).value, 0, "phrases match whole")
        XCTAssertEqual(loadError(["urgency.lua": "lexicon.compile{ concepts = { { name = 'x', phrases = lexicon.list('gone.keywords') } } }\nfunction score() return 1 end"])?
            .message.contains("no phrase list gone.keywords in the rules"), true)
    }
}
