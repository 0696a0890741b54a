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
        return text.withUTF8 { automaton.best(in: UnsafeRawBufferPointer($0)) }.map { String(decoding: automaton.bytes(ofKeyword: $0), as: UTF8.self) }
    }

    private func first(_ automaton: KeywordAutomaton, _ text: String) -> String? {
        var text = text
        return text.withUTF8 { automaton.first(in: UnsafeRawBufferPointer($0)) }.map { String(decoding: automaton.bytes(ofKeyword: $0), as: UTF8.self) }
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

    /// Large random keyword sets (overlapping, prefixes of each other, non-ASCII), with the dense part as small as
    /// it goes (every step past the root through the sparse edges and failure links) and at its usual size, against
    /// a naive search: the best group, and the keyword whose first occurrence ends first (the longest of those).
    func testLargeSetsAgreeWithNaiveSearchWithAndWithoutTheDensePart() throws {
        var generator = SystemRandomNumberGenerator()
        let syllables = ["ka", "ki", "mba", "ya", "pesa", "lo", "an", "ş", "é", "Ö", "ng", "a", "i", " ", "😡"]
        func random(_ parts: ClosedRange<Int>) -> String {
            (0..<Int.random(in: parts, using: &generator)).map { _ in syllables.randomElement(using: &generator)! }.joined()
        }
        func bytes(_ text: String) -> [UInt8] { Array(text.lowercased().utf8) }
        /// Where the first occurrence of `needle` ends in `haystack` (exclusive), or nil.
        func firstEnd(_ needle: [UInt8], _ haystack: [UInt8]) -> Int? {
            guard needle.count <= haystack.count else { return nil }
            outer: for start in 0...(haystack.count - needle.count) {
                for i in 0..<needle.count where haystack[start + i] != needle[i] { continue outer }
                return start + needle.count
            }
            return nil
        }
        for (round, denseBytes) in [(0, 0), (1, KeywordAutomaton.denseBudgetBytes)] {
            var groups = (0..<4).map { _ in (0..<1500).map { _ in random(1...4) }.filter { !$0.isEmpty } }
            groups[round].append(contentsOf: groups[1].prefix(50).map { $0 + "ka" })  // prefixes and extensions
            var keywords: [KeywordAutomaton.Keyword] = []
            for (group, words) in groups.enumerated() { keywords += words.map { .init(text: $0, group: group) } }
            let matcher = try KeywordAutomaton(keywords: keywords, groupScores: [4, 3, 2, 1], denseBytes: denseBytes)
            if denseBytes == 0 { XCTAssertEqual(matcher.shape.dense, 1, "only the root is dense") }
            let folded = keywords.map { bytes($0.text) }
            for _ in 0..<60 {
                let text = random(2...14)
                let lowered = bytes(text)
                let ends = folded.map { firstEnd($0, lowered) }
                var buffer = text
                let best = buffer.withUTF8 { matcher.best(in: UnsafeRawBufferPointer($0)) }
                let first = buffer.withUTF8 { matcher.first(in: UnsafeRawBufferPointer($0)) }
                let bestGroup = ends.indices.filter { ends[$0] != nil }.map { keywords[$0].group }.min()
                XCTAssertEqual(best.map { keywords[$0].group }, bestGroup, "best group in \(text)")
                if let best { XCTAssertNotNil(ends[best], "\(keywords[best].text) is in \(text)") }
                let earliest = ends.compactMap { $0 }.min()
                XCTAssertEqual(first.flatMap { ends[$0] }, earliest, "first end in \(text)")
                if let first, let earliest {
                    let longest = ends.indices.filter { ends[$0] == earliest }.map { folded[$0].count }.max()
                    XCTAssertEqual(folded[first].count, longest, "the longest of those ending first in \(text)")
                }
            }
        }
    }

    func testAHundredThousandKeywordsStaySmall() throws {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<2000).map { _ in String((0..<Int.random(in: 3...9, using: &generator)).map { _ in "abcdefghijklmnopqrstuvwxyz".randomElement(using: &generator)! }) }
        let keywords = (0..<100_000).map { index in
            KeywordAutomaton.Keyword(text: "\(words.randomElement(using: &generator)!) \(words.randomElement(using: &generator)!)", group: index % 3)
        }
        let matcher = try KeywordAutomaton(keywords: keywords, groupScores: [3, 2, 1])
        XCTAssertGreaterThan(matcher.shape.states, 500_000)
        XCTAssertLessThan(matcher.shape.bytes, 64 << 20, "memory grows with the keywords' length, not states × classes")
        var text = "xx \(keywords[77].text.uppercased()) yy"
        XCTAssertNotNil(text.withUTF8 { matcher.first(in: UnsafeRawBufferPointer($0)) })
    }

    func testInvalidUTF8IsMatchedByteForByte() throws {
        let matcher = try automaton([["fraud"]])
        let bytes: [UInt8] = [0xFF, 0xFE] + Array("FRAUD".utf8) + [0xC3]
        XCTAssertNotNil(bytes.withUnsafeBytes { matcher.best(in: $0) })
    }
}
