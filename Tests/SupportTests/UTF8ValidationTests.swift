import XCTest
import Support

/// The UTF-8 check every request body passes: it agrees with the standard library's decoder on every kind of
/// sequence, at every alignment of the eight-byte fast path.
final class UTF8ValidationTests: XCTestCase {
    private func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { UTF8Validation.isValid($0) } }

    func testAgreesWithTheStandardLibrary() {
        let pieces: [[UInt8]] = [
            Array("plain ascii".utf8), Array("é".utf8), Array("€".utf8), Array("𝄞".utf8), Array("nimelipa 🙏".utf8),
            [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x80, 0x80, 0x80],
            [0x80], [0xC2], [0xE2, 0x82], [0xF0, 0x9D, 0x84], [0xFF], [0xF5, 0x80, 0x80, 0x80],
        ]
        for prefix in 0..<9 {
            for piece in pieces {
                for suffix in [[], Array("tail".utf8)] {
                    let bytes = Array(repeating: UInt8(ascii: "a"), count: prefix) + piece + suffix
                    XCTAssertEqual(valid(bytes), String(validating: bytes, as: UTF8.self) != nil, "\(bytes)")
                    // an ill-formed piece is reported where it starts, after the ASCII before it
                    let offset = bytes.withUnsafeBytes { UTF8Validation.firstInvalidOffset($0) }
                    XCTAssertEqual(offset, String(validating: piece, as: UTF8.self) == nil ? prefix : nil, "\(bytes)")
                }
            }
        }
        XCTAssertTrue(valid([]))
    }

    /// A request body's JSON error says where the bad byte is.
    func testTheParserReportsWhereTheUTF8Breaks() {
        let body = Array(#"{"user_id": 1, "message": "nimelipa "#.utf8) + [0xFF] + Array(#""}"#.utf8)
        XCTAssertThrowsError(try JSONParser.parse(body)) { error in
            XCTAssertEqual("\(error)", "invalid UTF-8 at byte 36")
        }
    }
}
