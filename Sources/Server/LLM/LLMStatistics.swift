import Foundation
import Synchronization
import Support

/// What the LLM client has done since the start: calls, HTTP requests, cache hits, failures by kind and the
/// latency of recent calls (for p50/p99), for `GET /api/llm/status`.
final class LLMStatistics: Sendable {
    private struct Counts {
        var calls = 0
        var requests = 0
        var cacheHits = 0
        var successes = 0
        var failures: [String: Int] = [:]
        var latencies = [Double](repeating: 0, count: LLMStatistics.latencySamples)
        var latencyCount = 0
    }

    /// Calls whose latency is kept for the percentiles.
    static let latencySamples = 4096
    private let counts = Mutex(Counts())
    /// Call durations, for `urgencyiq_llm_request_duration_seconds`.
    let duration = MetricHistogram()

    func recordCacheHit() { counts.withLock { $0.cacheHits += 1 } }

    /// A call that ended without a request (no key, circuit open, no free slot): a failure of that kind.
    func recordSkipped(_ kind: String) { counts.withLock { $0.failures[kind, default: 0] += 1 } }

    /// A call that made `requests` HTTP requests and ended with `failure` (nil: a reply) after `milliseconds`.
    func recordCall(requests: Int, failure: String?, milliseconds: Double) {
        duration.observe(nanoseconds: UInt64(max(0, milliseconds) * 1e6))
        counts.withLock { counts in
            counts.calls += 1
            counts.requests += requests
            if let failure { counts.failures[failure, default: 0] += 1 } else { counts.successes += 1 }
            counts.latencies[counts.latencyCount % LLMStatistics.latencySamples] = milliseconds
            counts.latencyCount += 1
        }
    }

    /// The calls by outcome (`reply`, or the failure's kind: `timeout`, `http 429`, `circuit open`, …), the cache
    /// hits and the call durations.
    func write(to text: inout PrometheusText) {
        let counts = counts.withLock { ($0.successes, $0.failures, $0.cacheHits) }
        text.family("urgencyiq_llm_requests_total", "counter", "Calls of the LLM step, by outcome: reply, or why there was none.")
        text.sample("urgencyiq_llm_requests_total", [("outcome", "reply")], counts.0)
        for (kind, count) in counts.1.sorted(by: { $0.key < $1.key }) {
            text.sample("urgencyiq_llm_requests_total", [("outcome", kind)], count)
        }
        text.family("urgencyiq_llm_request_duration_seconds", "histogram", "Time an LLM call took, retries included.")
        text.histogram("urgencyiq_llm_request_duration_seconds", [], duration)
        text.family("urgencyiq_llm_cache_hits_total", "counter", "LLM calls answered from the completion cache.")
        text.sample("urgencyiq_llm_cache_hits_total", counts.2)
    }

    var json: JSONValue {
        let counts = counts.withLock { $0 }
        let samples = Array(counts.latencies.prefix(min(counts.latencyCount, LLMStatistics.latencySamples))).sorted()
        func percentile(_ p: Double) -> JSONValue {
            guard !samples.isEmpty else { return .null }
            let index = min(samples.count - 1, Int((p * Double(samples.count)).rounded(.up)) - 1)
            return .number((samples[max(0, index)] * 10).rounded() / 10)
        }
        return [
            "calls": .integer(Int64(counts.calls)), "requests": .integer(Int64(counts.requests)),
            "replies": .integer(Int64(counts.successes)), "cache_hits": .integer(Int64(counts.cacheHits)),
            "failures": .object(counts.failures.mapValues { .integer(Int64($0)) }),
            "latency_ms": ["p50": percentile(0.5), "p99": percentile(0.99), "samples": .integer(Int64(samples.count))],
        ]
    }
}
