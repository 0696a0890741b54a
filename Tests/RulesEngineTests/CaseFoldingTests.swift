import XCTest
@testable import RulesEngine

/// The case-folding table is built from a fixed list of pages (`CaseFolding.casedPages`) to keep it out of every
/// rules load's time: these tests hold that list to Unicode's properties as this Swift runtime knows them.
final class CaseFoldingTests: XCTestCase {
    /// Every scalar whose lower case differs lies on a listed page, below the table's end.
    func testEveryScalarThatChangesLiesOnACasedPage() {
        let listed = Set(CaseFolding.casedPages)
        var missing = Set<Int>()
        for value in UInt32(0x80)...UInt32(0x10FFFF) {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenLowercased else { continue }
            let page = Int(value >> 8)
            if !listed.contains(page) || page >= CaseFolding.pageCount { missing.insert(page) }
        }
        XCTAssertEqual(missing.sorted().map { String($0, radix: 16) }, [],
                       "pages with scalars whose lower case differs, missing from CaseFolding.casedPages")
    }

    /// Every listed page has something to map (a page listed for nothing would only cost time).
    func testEveryListedPageMapsSomething() {
        for page in CaseFolding.casedPages {
            XCTAssertNotNil(CaseFolding.mappings(ofPage: page), "page \(String(page, radix: 16)) maps nothing")
        }
    }

    /// Lower-casing agrees with Unicode's mapping for every scalar of the listed pages and some beyond them.
    func testLowercasingFollowsUnicodeOnEveryPage() {
        let beyond: [UInt32] = [0x3042, 0x4E2D, 0xAC00, 0x1F600, 0x10FFFD]  // kana, CJK, Hangul, emoji, private use
        let values = CaseFolding.casedPages.flatMap { page in (UInt32(page) << 8)..<(UInt32(page + 1) << 8) } + beyond
        for value in values {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let text = String(Character(scalar))
            XCTAssertEqual(CaseFolding.lowercased(text), String(scalar.properties.lowercaseMapping),
                           "U+\(String(value, radix: 16))")
        }
    }
}
