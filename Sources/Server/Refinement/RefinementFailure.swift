/// Which failed model calls a refiner tries again later instead of settling for the keyword score.
enum RefinementFailure {
    /// The provider's rate limit (or ours): try again when it allows, without counting an attempt.
    static func isRateLimit(_ reason: String) -> Bool { reason == "rate limited" || reason.hasPrefix("http 429") }

    /// Failures that may pass: the model was slow, busy, unreachable or failing for a while.
    static func isTransient(_ reason: String) -> Bool {
        if isRateLimit(reason) { return true }
        if ["timeout", "busy", "circuit open", "connection failed"].contains(reason) { return true }
        if reason.hasPrefix("transport error") { return true }
        return ["http 500", "http 502", "http 503", "http 504"].contains { reason.hasPrefix($0) }
    }
}
