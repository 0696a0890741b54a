import Foundation
import RulesEngine
import Support

/// Everything `GET /metrics` reports, in the Prometheus text format: HTTP requests, scoring, rule reloads, the LLM
/// step, the store, and the process. Counting happens where things happen (atomic adds, no locks); the rest is
/// read when scraped.
final class ServerMetrics: Sendable {
    let http: HTTPMetrics
    let scoring: ScoringMetrics
    /// Requests answered 503 because the store failed (counted where the error is rendered).
    static let storeErrors = MetricCounter()
    private let rules: ActiveRules
    private let llm: OpenAICompatibleClient
    private let refiner: LLMRefiner
    private let store: any Store
    private let clock: @Sendable () -> Timestamp

    init(http: HTTPMetrics, scoring: ScoringMetrics, rules: ActiveRules, llm: OpenAICompatibleClient, refiner: LLMRefiner, store: any Store,
         clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.clock = clock
        self.http = http
        self.scoring = scoring
        self.rules = rules
        self.llm = llm
        self.refiner = refiner
        self.store = store
        _ = ProcessMetrics.startTime
    }

    /// The exposition, read now.
    func exposition() -> String {
        var text = PrometheusText()
        http.write(to: &text)
        scoring.write(to: &text)

        text.family("urgencyiq_rules_reloads_total", "counter", "Rule reload attempts (file changes, SIGHUP, API, deploys), by outcome.")
        let counts = rules.attemptCounts
        for outcome in ReloadAttempt.Outcome.allCases {
            text.sample("urgencyiq_rules_reloads_total", [("outcome", outcome.rawValue)], counts[outcome] ?? 0)
        }
        text.family("urgencyiq_rules_info", "gauge", "The active rules version (always 1).")
        text.sample("urgencyiq_rules_info", [("version", rules.scorer.rulesVersion)], 1)
        text.family("urgencyiq_rules_activated_timestamp_seconds", "gauge", "When the active rules version was activated.")
        text.sample("urgencyiq_rules_activated_timestamp_seconds", rules.activatedAt.timeIntervalSince1970)

        llm.writeMetrics(to: &text)
        refiner.writeMetrics(to: &text)

        text.family("urgencyiq_store_write_queue_depth", "gauge", "Writes queued for the store's next transaction.")
        text.sample("urgencyiq_store_write_queue_depth", store.queuedWrites)
        text.family("urgencyiq_search_index_backlog", "gauge", "Messages not yet in the search index (searched by scanning).")
        text.sample("urgencyiq_search_index_backlog", store.searchIndexBacklog)
        text.family("urgencyiq_store_errors_total", "counter", "Requests answered 503 because the store failed.")
        text.sample("urgencyiq_store_errors_total", ServerMetrics.storeErrors.value)
        var open = MessageQuery()
        open.limit = 1
        if let total = try? store.messages(open).total {
            text.family("urgencyiq_open_messages", "gauge", "Messages whose status is open.")
            text.sample("urgencyiq_open_messages", total)
        }
        if let overdue = try? store.overdueCount(now: clock()) {
            text.family("urgencyiq_overdue_open_messages", "gauge", "Open messages not answered by their first-response due time.")
            text.sample("urgencyiq_overdue_open_messages", overdue)
        }
        ProcessMetrics.write(to: &text)
        return text.text
    }
}
