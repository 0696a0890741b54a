import Foundation
import XCTest
@testable import RulesEngine

/// Keyword automata and case folding, checked against straightforward reference implementations.
final class MatchingTests: XCTestCase {
    private func automaton(_ groups: [[String]], scores: [Double]? = nil) throws -> KeywordAutomaton {
        var keywords: [KeywordAutomaton.Keyword] = []
        for (group, words) in groups.enumerated() { keywords += words.map { .init(text: $0, group: group) } }
        return try KeywordAutomaton(keywords: keywords, groupScores: scores ?? groups.indices.map { Double(groups.count - $0) })
    }

    private func best(_ automaton: KeywordAutomaton, _ text: String) -> String? {
        var text = text
        return text.withUTF8 { automaton.best(in: UnsafeRawBufferPointer($0)) }.map { automaton.keywords[$0].text }
    }

    private func first(_ automaton: KeywordAutomaton, _ text: String) -> String? {
        var text = text
        return text.withUTF8 { automaton.first(in: UnsafeRawBufferPointer($0)) }.map { automaton.keywords[$0].text }
    }

    func testPythonLowerCasing() {
        XCTAssertEqual(CaseFolding.lowercased("HELLO World"), "hello world")
        XCTAssertEqual(CaseFolding.lowercased("\u{130}"), "i\u{307}")
        XCTAssertEqual(CaseFolding.lowercased("\u{212A}"), "k")
        XCTAssertEqual(CaseFolding.lowercased("ÀÉÎÕÜ ΑΣ Ж"), "àéîõü ασ ж")
        XCTAssertEqual(CaseFolding.lowercased("emoji 😡 stays"), "emoji 😡 stays")
        XCTAssertEqual(CaseFolding.lowercased("𐐀"), "𐐨")  // Deseret, beyond the BMP
    }

    func testCaseFoldingMatchesSwiftsFullLowercaseMapping() {
        // Swift's lowercased() applies the same full mapping per scalar (Python's str.lower, sigma aside).
        for value in UInt32(0x80)..<UInt32(0x1F000) {
            guard let scalar = Unicode.Scalar(value), value != 0x3A3 else { continue }
            let text = String(Character(scalar))
            XCTAssertEqual(CaseFolding.lowercased(text), text.lowercased(), "U+\(String(value, radix: 16))")
        }
    }

    func testSubstringSemanticsWithoutWordBoundaries() throws {
        let matcher = try automaton([["ok"]])
        XCTAssertEqual(first(matcher, "I took it"), "ok")
        XCTAssertEqual(first(matcher, "OK!"), "ok")
        XCTAssertNil(first(matcher, "o k"))
    }

    func testBestTierWinsAndEarlierTierBreaksTies() throws {
        let matcher = try automaton([["fraud"], ["rejected"], ["thanks"]])
        XCTAssertEqual(best(matcher, "thanks, but why rejected? fraud!"), "fraud")
        XCTAssertEqual(best(matcher, "thanks, why rejected"), "rejected")
        XCTAssertNil(best(matcher, "hello"))
        let tied = try automaton([["alpha"], ["beta"]], scores: [3, 3])
        XCTAssertEqual(best(tied, "beta alpha"), "alpha")
    }

    func testOverlappingKeywordsAreAllFound() throws {
        // "she" inside "ushers" overlaps "he" and "hers": the classic Aho–Corasick case.
        let matcher = try automaton([["hers"], ["she"], ["he"]])
        XCTAssertEqual(best(matcher, "ushers"), "hers")
        XCTAssertEqual(first(matcher, "ushers"), "she")
    }

    func testNonASCIIKeywordsAndText() throws {
        let matcher = try automaton([["café"], ["ωμέγα"]])
        XCTAssertEqual(best(matcher, "Un CAFÉ noir"), "café")
        XCTAssertEqual(best(matcher, "ΩΜΈΓΑ"), "ωμέγα")
        let dotted = try automaton([["how do i"]])
        XCTAssertEqual(best(dotted, "HOW DO \u{130}"), "how do i")
    }

    func testAgreesWithNaiveSearchOnRandomInputs() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcAB ’İé😡?")
        func random(_ length: Int) -> String { String((0..<length).map { _ in alphabet.randomElement(using: &generator)! }) }
        for _ in 0..<200 {
            let groups = (0..<3).map { _ in (0..<Int.random(in: 1...4)).map { _ in random(Int.random(in: 1...3)) } }
            let matcher = try automaton(groups)
            for _ in 0..<20 {
                let text = random(Int.random(in: 0...30))
                let lowered = text.lowercased()
                let expectedGroup = groups.firstIndex { $0.contains { lowered.contains($0.lowercased()) } }
                let found = best(matcher, text)
                if let expectedGroup {
                    XCTAssertTrue(groups[expectedGroup].contains(found ?? "\u{0}"), "\(groups) in \(text): \(found ?? "nil")")
                } else {
                    XCTAssertNil(found, "\(groups) in \(text)")
                }
            }
        }
    }

    func testInvalidUTF8IsMatchedByteForByte() throws {
        let matcher = try automaton([["fraud"]])
        let bytes: [UInt8] = [0xFF, 0xFE] + Array("FRAUD".utf8) + [0xC3]
        XCTAssertNotNil(bytes.withUnsafeBytes { matcher.best(in: $0) })
    }
}
