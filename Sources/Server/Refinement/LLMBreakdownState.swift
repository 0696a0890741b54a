import RulesEngine
import Support

/// The state of a breakdown's `llm` part, as the API shows it: `used` (the model's answer is in the score),
/// `pending` (queued for a background refiner), or `skipped` (with `skipped` saying why: disabled, no key,
/// budget, backlog, timeout, the rules' own reason…). The rules write `used` and `skipped`; the host adds `state`.
enum LLMBreakdownState {
    /// The reason `llm.complete` gives while the call is deferred to a refiner.
    static let pendingReason = "pending"

    /// The breakdown as stored: its JSON text with `state` added (null without a breakdown).
    static func stored(_ breakdown: Breakdown?) -> String {
        guard var breakdown else { return "null" }
        annotate(&breakdown)
        return breakdown.jsonText
    }

    /// Adds `state` to the breakdown's `llm` part, when it has one.
    static func annotate(_ breakdown: inout Breakdown) {
        guard case .object(var part)? = breakdown.rule("llm") else { return }
        let state = if part["used"]?.boolValue == true { "used" }
            else if part["skipped"]?.stringValue == pendingReason { "pending" }
            else { "skipped" }
        part["state"] = .string(state)
        breakdown.setRule("llm", to: .object(part))
    }
}
