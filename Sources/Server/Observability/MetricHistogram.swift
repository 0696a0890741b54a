import Synchronization

/// A Prometheus histogram of durations with fixed bucket bounds (seconds): one atomic add per bucket hit, the sum
/// kept in nanoseconds, no lock.
final class MetricHistogram: Sendable {
    /// Upper bounds in seconds, ascending (the `+Inf` bucket is implied).
    let bounds: [Double]
    private let boundsNanoseconds: [UInt64]
    /// Observations per bucket, not cumulative (the exposition adds them up); the last is `+Inf`.
    private let buckets: [MetricCounter]
    private let sumNanoseconds = MetricCounter()

    /// Bounds for request and scoring durations: 50 µs to 10 s.
    static let durationBounds: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25, 0.5, 1, 2.5, 5, 10]

    init(bounds: [Double] = MetricHistogram.durationBounds) {
        self.bounds = bounds
        boundsNanoseconds = bounds.map { UInt64($0 * 1e9) }
        buckets = (0...bounds.count).map { _ in MetricCounter() }
    }

    func observe(nanoseconds: UInt64) {
        var index = 0
        while index < boundsNanoseconds.count && nanoseconds > boundsNanoseconds[index] { index += 1 }
        buckets[index].add()
        sumNanoseconds.add(Int(clamping: nanoseconds))
    }

    /// Cumulative counts per bound (the last for `+Inf`), the sum in seconds and the count, read now.
    var snapshot: (cumulative: [Int], sum: Double, count: Int) {
        var running = 0
        let cumulative = buckets.map { bucket -> Int in
            running += bucket.value
            return running
        }
        return (cumulative, Double(sumNanoseconds.value) / 1e9, running)
    }
}
