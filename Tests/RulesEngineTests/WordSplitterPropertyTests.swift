import Foundation
import XCTest
@testable import RulesEngine
import TestSupport

/// `WordSplitter.splitBytes` (the lexicon's allocation-free reader of raw message bytes) against
/// `WordSplitter.split(CaseFolding.lowercased(text))` (the plain version phrases are read with): the same words,
/// with the same clause and sentence numbers, for thousands of seeded random strings of letters, digits,
/// punctuation, apostrophes, line breaks, capitals whose lower case changes length (İ, the Kelvin sign), curly
/// quotes, ellipses, emoji and Swahili words.
final class WordSplitterPropertyTests: XCTestCase {
    /// What a random message is made of: single characters and whole words, ASCII and not.
    private static let pieces: [String] = {
        var pieces = (UInt8(ascii: "a")...UInt8(ascii: "z")).map { String(UnicodeScalar($0)) }
        pieces += (UInt8(ascii: "A")...UInt8(ascii: "Z")).map { String(UnicodeScalar($0)) }
        pieces += (0...9).map(String.init)
        pieces += [".", ",", ";", ":", "(", ")", "!", "?", "'", "`", "\n", " ", " ", " ", " ", "  ", "-", "*", "\t", "\r", "\"", "/"]
        pieces += ["é", "É", "\u{130}", "\u{212A}", "’", "‘", "…", "🙏", "👍", "😡", "ß", "Σ", "ω", "Ж", "ı", "ǅ", "Ⱥ", "\u{301}",
                   "\u{200D}", "\u{FE0F}", "👍🏽", "½", "٣", "©", "\u{A0}", "\u{2028}"]
        pieces += ["nimelipa", "Sijapokea", "PESA", "mkopo", "asante", "imeblockiwa", "hakuna", "tafadhali", "NIMETUMA", "sawa"]
        return pieces
    }()

    private func randomText(_ generator: inout SeededGenerator) -> String {
        let count = Int.random(in: 0...40, using: &generator)
        return (0..<count).map { _ in Self.pieces.randomElement(using: &generator)! }.joined()
    }

    /// (word, clause, sentence) as `split` gives them.
    private func reference(_ text: String) -> [(String, Int32, Int32)] {
        WordSplitter.split(CaseFolding.lowercased(text)).map { (String(decoding: $0.bytes, as: UTF8.self), $0.clause, $0.sentence) }
    }

    /// (word, clause, sentence) as `splitBytes` gives them for the bytes of `text`.
    private func bytewise(_ bytes: [UInt8]) -> [(String, Int32, Int32)] {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: WordSplitter.capacity(forBytes: bytes.count))
        let spans = UnsafeMutablePointer<WordSplitter.Span>.allocate(capacity: max(bytes.count, 1))
        defer {
            buffer.deallocate()
            spans.deallocate()
        }
        let count = bytes.withUnsafeBytes { WordSplitter.splitBytes($0, bytes: buffer, spans: spans) }
        return (0..<count).map { index in
            let span = spans[index]
            let word = UnsafeBufferPointer(start: buffer + Int(span.start), count: Int(span.length))
            return (String(decoding: word, as: UTF8.self), span.clause, span.sentence)
        }
    }

    private func assertSame(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let expected = reference(text), got = bytewise(Array(text.utf8))
        let describe = { (words: [(String, Int32, Int32)]) in words.map { "\($0.0)@\($0.1)/\($0.2)" }.joined(separator: " ") }
        XCTAssertEqual(describe(got), describe(expected), "for \(text.debugDescription)", file: file, line: line)
    }

    func testBothSplittersAgreeOnRandomText() {
        var generator = SeededGenerator(seed: 0x5EED_2026)
        for _ in 0..<4000 { assertSame(randomText(&generator)) }
    }

    func testBothSplittersAgreeOnTheCasesTheGeneratorIsAfter() {
        for text in ["", " ", "?", "??", "? ?", "a?b", "why?!...now", "Don’t", "don''t", "'quoted'", "`tick`", "…", "a…b",
                     "İSTANBUL", "\u{212A}ELVIN", "ok👍ok", "🙏🙏", "a,,b", "(a) b; c: d", "\n\na\n\n", "end.", ".start",
                     "x ? , y", "café’s", "e\u{301}", "1,000.50", "NIMELIPA, lakini SIJAPOKEA?"] {
            assertSame(text)
        }
    }

    func testMalformedBytesSeparateWordsAsTheReplacementCharacterDoes() {
        var generator = SeededGenerator(seed: 0xBAD_0F8)
        let malformed: [[UInt8]] = [[0xFF], [0x80], [0xC3], [0xE2, 0x80], [0xF0, 0x9F, 0x99], [0xED, 0xA0, 0x80], [0xC0, 0xAF]]
        for _ in 0..<2000 {
            var bytes = Array(randomText(&generator).utf8)
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                bytes.insert(contentsOf: malformed.randomElement(using: &generator)!, at: Int.random(in: 0...bytes.count, using: &generator))
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let describe = { (words: [(String, Int32, Int32)]) in words.map { "\($0.0)@\($0.1)/\($0.2)" }.joined(separator: " ") }
            XCTAssertEqual(describe(bytewise(bytes)), describe(reference(text)), "for \(bytes)")
        }
    }

    func testTheGeneratorIsDeterministicAndCoversWhatItShould() {
        var first = SeededGenerator(seed: 7), second = SeededGenerator(seed: 7)
        let a = (0..<50).map { _ in randomText(&first) }, b = (0..<50).map { _ in randomText(&second) }
        XCTAssertEqual(a, b)
        // The random strings do exercise sentences, clauses, apostrophes and non-ASCII words.
        var generator = SeededGenerator(seed: 0x5EED_2026)
        var sentences = 0, clauses = 0, apostrophes = 0, nonASCII = 0, questions = 0
        for _ in 0..<4000 {
            let words = reference(randomText(&generator))
            sentences += words.map(\.2).max().map(Int.init) ?? 0
            clauses += words.map(\.1).max().map(Int.init) ?? 0
            apostrophes += words.count { $0.0.contains("'") }
            nonASCII += words.count { $0.0.utf8.contains { $0 >= 0x80 } }
            questions += words.count { $0.0 == "?" }
        }
        XCTAssertGreaterThan(sentences, 1000)
        XCTAssertGreaterThan(clauses, sentences)
        XCTAssertGreaterThan(apostrophes, 100)
        XCTAssertGreaterThan(nonASCII, 1000)
        XCTAssertGreaterThan(questions, 500)
    }
}
