import XCTest
@testable import Support

/// Numbers are written exactly as Python's `json` writes floats: whole numbers with `.0`, the rest as the
/// shortest text that reads back as the same double; the digit-by-digit path must agree with that everywhere.
final class JSONNumberTextTests: XCTestCase {
    /// The text the server wrote before the digit-by-digit path: Python's `repr` of a float, but for -0.0, which
    /// it has always written as 0.0.
    private func previousText(_ number: Double) -> String {
        guard number.isFinite else { return "null" }
        if number == number.rounded(), abs(number) < 1e16 { return String(Int64(number)) + ".0" }
        return number.description
    }

    private func assertSame(_ number: Double, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(JSONNumberText.string(number), previousText(number), "bits \(number.bitPattern)", file: file, line: line)
        var bytes: [UInt8] = [1, 2]
        JSONNumberText.append(number, to: &bytes)
        XCTAssertEqual(Array(bytes.dropFirst(2)), Array(previousText(number).utf8), file: file, line: line)
    }

    func testKnownTexts() {
        let expected: [(Double, String)] = [
            (0, "0.0"), (-0.0, "0.0"), (5, "5.0"), (-3, "-3.0"), (4.2, "4.2"), (0.1, "0.1"), (0.05, "0.05"),
            (-0.05, "-0.05"), (3.45, "3.45"), (2.5, "2.5"), (0.3, "0.3"), (0.1 + 0.2, "0.30000000000000004"),
            (1e-05, "1e-05"), (123456789.12, "123456789.12"), (1e16, "1e+16"), (.infinity, "null"), (-.infinity, "null"),
            (.nan, "null"), (Double.leastNonzeroMagnitude, "5e-324"), (Double.greatestFiniteMagnitude, "1.7976931348623157e+308"),
        ]
        for (number, text) in expected {
            XCTAssertEqual(JSONNumberText.string(number), text)
            XCTAssertEqual(JSONValue.format(number: number), text)
        }
    }

    /// Every value of at most two decimals a score or weight can take, and their neighbours one bit away.
    func testTwoDecimalValuesAndNeighbours() {
        for hundredths in -100_000...100_000 {
            let number = Double(hundredths) / 100
            assertSame(number)
            assertSame(number.nextUp)
            assertSame(number.nextDown)
        }
    }

    /// Values near the edges of the digit-by-digit path, and arithmetic results that are not what they look like.
    func testEdgesAndComputedValues() {
        for number in [1e9 - 0.01, 1e9, 1e9 + 0.01, -(1e9 - 0.01), 999_999_999.99, 1e15 + 0.5, 9_007_199_254_740_993,
                       0.01, 0.001, 0.0001, 0.07, 1.005, 2.675, 0.1 * 3, 4.35 * 100 / 100, 1.1 + 2.2, 3.3 * 3] {
            assertSame(number)
            assertSame(-number)
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50_000 {
            assertSame(Double(bitPattern: generator.next()))
            assertSame(Double.random(in: -1000...1000, using: &generator))
            assertSame((Double.random(in: 1...5, using: &generator) * 100).rounded() / 100 * 0.7 + 0.3 * 2.5)
        }
    }
}
