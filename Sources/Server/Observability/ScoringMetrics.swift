import RulesEngine

/// What the server's scoring did: messages scored, how many at each urgency level (rounded, 1–5), how long each
/// took, how often the rules failed and how many messages were stored with the fallback score.
final class ScoringMetrics: Sendable {
    let scored = MetricCounter()
    /// Index 0 is level 1.
    let levels = (1...5).map { _ in MetricCounter() }
    let duration = MetricHistogram()
    let ruleErrors = MetricCounter()
    let fallbacks = MetricCounter()
    /// From a message's arrival to its first reply (seconds to days).
    let firstResponse = MetricHistogram(bounds: [60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86_400, 3 * 86_400, 7 * 86_400])

    init() {}

    /// One message scored in `nanoseconds`; `failed`: the rules raised (its score is the fallback); `stored`:
    /// the message is kept with that score (a send, an import, a rescore; not a dry run).
    func record(_ value: Double, nanoseconds: UInt64, failed: Bool, stored: Bool) {
        scored.add()
        if value.isFinite { levels[min(4, max(0, Int(value.rounded()) - 1))].add() }
        duration.observe(nanoseconds: nanoseconds)
        if failed {
            ruleErrors.add()
            if stored { fallbacks.add() }
        }
    }

    func write(to text: inout PrometheusText) {
        text.family("urgencyiq_messages_scored_total", "counter", "Messages scored by the rules (sends, dry runs, imports, rescores).")
        text.sample("urgencyiq_messages_scored_total", scored.value)
        text.family("urgencyiq_urgency_level_total", "counter", "Messages scored, by urgency rounded to a level from 1 to 5.")
        for (index, counter) in levels.enumerated() { text.sample("urgencyiq_urgency_level_total", [("level", String(index + 1))], counter.value) }
        text.family("urgencyiq_score_duration_seconds", "histogram", "Time to score one message, the LLM step included.")
        text.histogram("urgencyiq_score_duration_seconds", [], duration)
        text.family("urgencyiq_rule_errors_total", "counter", "Messages the rules failed on (an error, a limit, a result that is not a number).")
        text.sample("urgencyiq_rule_errors_total", ruleErrors.value)
        text.family("urgencyiq_rule_fallbacks_total", "counter", "Messages stored with the rules' fallback score because the rules failed on them.")
        text.sample("urgencyiq_rule_fallbacks_total", fallbacks.value)
        text.family("urgencyiq_first_response_seconds", "histogram", "Time from a message's arrival to its first reply (replies through this server).")
        text.histogram("urgencyiq_first_response_seconds", [], firstResponse)
    }
}
