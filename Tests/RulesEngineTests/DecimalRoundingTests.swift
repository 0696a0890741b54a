import CLuaHost
import XCTest

/// Python's round(x, digits), as the rules' `decimal.round` and the intent table use it: the arithmetic fast path
/// gives exactly what printing the number and reading it back gives.
final class DecimalRoundingTests: XCTestCase {
    private func assertSameAsPrinting(_ x: Double, _ digits: Int32, file: StaticString = #filePath, line: UInt = #line) {
        let fast = uiq_round_decimal(x, digits), printed = uiq_round_decimal_by_printing(x, digits)
        XCTAssertEqual(fast.bitPattern, printed.bitPattern, "round(\(x), \(digits)): \(fast) ≠ \(printed)", file: file, line: line)
    }

    func testKnownValuesRoundLikePython() {
        XCTAssertEqual(uiq_round_decimal(2.675, 2), 2.67)  // 2.675 is 2.67499999… in binary
        XCTAssertEqual(uiq_round_decimal(0.125, 2), 0.12)  // an exact tie: to even
        XCTAssertEqual(uiq_round_decimal(0.375, 2), 0.38)
        XCTAssertEqual(uiq_round_decimal(2.5, 0), 2)
        XCTAssertEqual(uiq_round_decimal(3.5, 0), 4)
        XCTAssertEqual(uiq_round_decimal(4.015, 2), 4.01)
        XCTAssertEqual(uiq_round_decimal(1.005, 2), 1)
        XCTAssertEqual(uiq_round_decimal(-0.001, 2).sign, .minus)  // -0.0, as Python gives
        XCTAssertTrue(uiq_round_decimal(.nan, 2).isNaN)
        XCTAssertEqual(uiq_round_decimal(.infinity, 2), .infinity)
        XCTAssertEqual(uiq_round_decimal(1e300, 2), 1e300)  // whole already, and far too wide to print with decimals
        XCTAssertEqual(uiq_round_decimal(-123456789012345678.0, 15), -123456789012345678.0)
    }

    func testRandomValuesAndNearTiesAgreeWithPrinting() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200_000 {
            let digits = Int32.random(in: 0...6, using: &generator)
            assertSameAsPrinting(Double.random(in: -10...10, using: &generator), digits)
            // Near a decimal tie: k + ½ at that precision, nudged by a few units in the last place.
            let scale = pow(10, Double(digits))
            let tie = (Double(Int.random(in: -100_000...100_000, using: &generator)) + 0.5) / scale
            var nudged = tie
            for _ in 0..<Int.random(in: 0...3, using: &generator) {
                nudged = Bool.random(using: &generator) ? nudged.nextUp : nudged.nextDown
            }
            assertSameAsPrinting(nudged, digits)
        }
        for x in [1e12 + 0.5, 123456789.125, 5e-324, 0.049999999999999996, 4.999999999999999, 1099511.6277765] {
            for digits in Int32(0)...15 { assertSameAsPrinting(x, digits) }
        }
    }
}
