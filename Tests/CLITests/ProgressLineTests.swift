import XCTest
@testable import urgencyiq

/// Progress lines say how far, how fast, and how long is left.
final class ProgressLineTests: XCTestCase {
    func testCountsRatesAndTimeLeft() {
        let rescoring = ProgressReporter(label: "rescoring", total: 20_000, terminal: false)
        XCTAssertEqual(rescoring.line(5_000, elapsed: 2), "rescoring: 25% 5,000 of 20,000, 2,500/s, 6 s left")
        let importing = ProgressReporter(label: "importing", total: 30_000_000, unit: .bytes, terminal: false)
        XCTAssertEqual(importing.line(12_300_000, elapsed: 3), "importing: 41% 12.3 MB of 30.0 MB, 4.1 MB/s, 5 s left")
        let open = ProgressReporter(label: "scoring", terminal: false)
        XCTAssertEqual(open.line(1_234_567, elapsed: 1), "scoring: 1,234,567, 1,234,567/s")
        let bar = ProgressReporter(label: "checking", total: 10, terminal: true)
        XCTAssertEqual(bar.line(5, elapsed: 1), "checking [###############...............] 50% 5 of 10, 5/s, 1 s left")
        XCTAssertEqual(ProgressReporter.duration(125), "2 min 5 s")
        XCTAssertEqual(ProgressReporter.duration(7_300), "2 h 1 min")
    }
}
