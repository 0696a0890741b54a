import Foundation
import RulesEngine
import Support

/// What a rescore did: messages scored again, how many changed and by how much, under which rules version.
public struct RescoreReport: Sendable, Equatable {
    public var rulesVersion: String
    public var messages = 0
    public var changed = 0
    public var increased = 0
    public var decreased = 0
    /// Sum of (new − old) over the changed messages.
    public var totalShift = 0.0
    /// Messages the rules failed on (they got the fallback score).
    public var failures = 0

    public var meanShift: Double { changed == 0 ? 0 : totalShift / Double(changed) }

    public var json: JSONValue {
        ["success": true, "rules_version": .string(rulesVersion), "messages": .integer(Int64(messages)),
         "changed": .integer(Int64(changed)), "increased": .integer(Int64(increased)), "decreased": .integer(Int64(decreased)),
         "mean_shift": .number((meanShift * 1000).rounded() / 1000), "failures": .integer(Int64(failures))]
    }
}

/// Scores stored messages again with the active rules, in batches: read a batch, score it, write it back in one
/// transaction, and move on, so the API keeps answering (the writes queue with everyone else's). Every message
/// then records the version that scored it.
public struct Rescorer: Sendable {
    public static let batchSize = 500
    let store: any TicketStore & RescoreStore
    let rules: ActiveRules

    public init(store: any TicketStore & RescoreStore, rules: ActiveRules) {
        self.store = store
        self.rules = rules
    }

    /// How many messages have `status` (for a progress bar).
    public func count(status: MessageQuery.StatusFilter) throws(StoreError) -> Int? {
        var query = MessageQuery()
        query.status = status
        query.limit = 1
        return try store.messages(query).total
    }

    /// Rescores the messages with `status`, scoring with `options` on up to `concurrency` threads (more than
    /// one only pays when the LLM step calls a model); `progress` is told the messages done so far.
    public func run(status: MessageQuery.StatusFilter, options: ScoringOptions = ScoringOptions(), concurrency: Int = 1,
                    progress: ((Int) -> Void)? = nil) throws(StoreError) -> RescoreReport {
        let scorer = rules.scorer  // one version for the whole run
        let scoring = BatchScoring(scorer: scorer, options: options, concurrency: concurrency)
        var report = RescoreReport(rulesVersion: scorer.rulesVersion)
        var after: Int64 = 0
        while true {
            let batch = try store.messagesToRescore(status: status, after: after, limit: Rescorer.batchSize)
            guard let last = batch.last else { break }
            after = last.id
            var updates: [ScoreUpdate] = []
            updates.reserveCapacity(batch.count)
            let scores = scoring.score(batch.map { ScoringInput(text: $0.body, customerID: $0.customerID) })
            for (message, (score, error)) in zip(batch, scores) {
                if error != nil { report.failures += 1 }
                if score.value != message.urgency {
                    report.changed += 1
                    report.totalShift += score.value - message.urgency
                    if score.value > message.urgency { report.increased += 1 } else { report.decreased += 1 }
                }
                updates.append(ScoreUpdate(id: message.id, urgency: score.value, rulesVersion: score.rulesVersion,
                                           breakdownJSON: LLMBreakdownState.stored(score.breakdown),
                                           responseDue: scoring.scorer.responseTargets?.due(createdAt: message.createdAt, score: score.value)))
            }
            try store.updateScores(updates)
            report.messages += batch.count
            progress?(report.messages)
        }
        return report
    }
}
