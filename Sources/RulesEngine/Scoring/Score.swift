import Support
/// The result of scoring one message: the urgency and the explanation of how the rules got there.
public struct Score: Sendable, Equatable {
    /// The urgency, as the rules returned it.
    public var value: Double
    /// The rules version (content hash) that produced it.
    public var rulesVersion: String
    /// How it was reached; nil when the caller did not ask for an explanation.
    public var breakdown: Breakdown?

    public init(value: Double, rulesVersion: String, breakdown: Breakdown?) {
        self.value = value
        self.rulesVersion = rulesVersion
        self.breakdown = breakdown
    }
}

/// How a score was reached: what the rules explained (matched tier and keyword, modifiers and their amounts,
/// the cap, the LLM part) plus what the host knows (final value, rules version, evaluation time, and the error
/// when the rules failed and a fallback was stored). Stored with each message and served by the API.
public struct Breakdown: Sendable, Equatable {
    /// The urgency stored.
    public var urgency: Double
    public var rulesVersion: String
    /// Wall time of the evaluation, in microseconds.
    public var evaluationMicroseconds: Double
    /// The breakdown table the rules returned (`tier`, `modifiers`, `llm`, …): the rules' own vocabulary.
    public var rules: [String: JSONValue]
    /// Set when the rules failed on this message and `urgency` is a fallback.
    public var error: String?

    public init(urgency: Double, rulesVersion: String, evaluationMicroseconds: Double,
                rules: [String: JSONValue], error: String? = nil) {
        self.urgency = urgency
        self.rulesVersion = rulesVersion
        self.evaluationMicroseconds = evaluationMicroseconds
        self.rules = rules
        self.error = error
    }

    /// One JSON object: the rules' fields, then the host's (`urgency`, `rules_version`, `evaluation_us`,
    /// `error`), which win on a name clash.
    public var json: JSONValue {
        var object = rules
        object["urgency"] = .number(urgency)
        object["rules_version"] = .string(rulesVersion)
        object["evaluation_us"] = .number((evaluationMicroseconds * 10).rounded() / 10)
        if let error { object["error"] = .string(error) }
        return .object(object)
    }

    /// Reads a breakdown back from its JSON form (as stored).
    public init?(json: JSONValue) {
        guard case .object(var object) = json, let urgency = object["urgency"]?.doubleValue,
              let version = object["rules_version"]?.stringValue else { return nil }
        self.urgency = urgency
        rulesVersion = version
        evaluationMicroseconds = object["evaluation_us"]?.doubleValue ?? 0
        error = object["error"]?.stringValue
        for key in ["urgency", "rules_version", "evaluation_us", "error"] { object[key] = nil }
        rules = object
    }
}
