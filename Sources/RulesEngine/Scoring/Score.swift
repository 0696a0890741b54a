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
    /// Set when the rules failed on this message and `urgency` is a fallback.
    public var error: String?
    /// The rules' part: as the scorer wrote it (JSON text), or as values once somebody changed it.
    private var rulesPart: RulesPart

    private enum RulesPart: Sendable {
        case text(JSONObjectText)
        case values([String: JSONValue])
    }

    /// The breakdown table the rules returned (`tier`, `modifiers`, `llm`, …): the rules' own vocabulary.
    public var rules: [String: JSONValue] {
        get {
            switch rulesPart {
            case .text(let text): text.values
            case .values(let values): values
            }
        }
        set { rulesPart = .values(newValue) }
    }

    public init(urgency: Double, rulesVersion: String, evaluationMicroseconds: Double,
                rules: [String: JSONValue], error: String? = nil) {
        self.init(urgency: urgency, rulesVersion: rulesVersion, evaluationMicroseconds: evaluationMicroseconds,
                  rulesPart: .values(rules), error: error)
    }

    /// A breakdown whose rules' part is already JSON (as the rule VM writes it).
    public init(urgency: Double, rulesVersion: String, evaluationMicroseconds: Double,
                rulesText: JSONObjectText, error: String? = nil) {
        self.init(urgency: urgency, rulesVersion: rulesVersion, evaluationMicroseconds: evaluationMicroseconds,
                  rulesPart: .text(rulesText), error: error)
    }

    private init(urgency: Double, rulesVersion: String, evaluationMicroseconds: Double, rulesPart: RulesPart,
                 error: String?) {
        self.urgency = urgency
        self.rulesVersion = rulesVersion
        self.evaluationMicroseconds = evaluationMicroseconds
        self.rulesPart = rulesPart
        self.error = error
    }

    /// The rules' field `key` (without turning the rest into values).
    public func rule(_ key: String) -> JSONValue? {
        switch rulesPart {
        case .text(let text): text.value(of: key)
        case .values(let values): values[key]
        }
    }

    /// Sets the rules' field `key` (letters, digits and `_`), keeping the rest as it is.
    public mutating func setRule(_ key: String, to value: JSONValue) {
        switch rulesPart {
        case .text(let text): rulesPart = .text(text.merging([(key, value)]))
        case .values(var values):
            values[key] = value
            rulesPart = .values(values)
        }
    }

    /// Hands each of the host's fields to `visit`, in key order: they follow the rules' fields and win on a name
    /// clash.
    private func forEachHostField(_ visit: (StaticString, JSONValue) -> Void) {
        if let error { visit("error", .string(error)) }
        visit("evaluation_us", .number((evaluationMicroseconds * 10).rounded() / 10))
        visit("rules_version", .string(rulesVersion))
        visit("urgency", .number(urgency))
    }

    /// One JSON object: the rules' fields, then the host's (`urgency`, `rules_version`, `evaluation_us`,
    /// `error`), which win on a name clash.
    public var json: JSONValue {
        var object = rules
        forEachHostField { key, value in object["\(key)"] = value }
        return .object(object)
    }

    /// `json` as text (what the stores keep), written from the rules' text without parsing it.
    public var jsonText: String {
        switch rulesPart {
        case .text(let text):
            var added = JSONObjectText.Additions(count: 4, bytes: 96 + (error?.utf8.count ?? 0))
            forEachHostField { key, value in added.add(key, value) }
            return text.text(merging: added)
        case .values: return json.jsonText
        }
    }

    public static func == (a: Breakdown, b: Breakdown) -> Bool {
        a.urgency == b.urgency && a.rulesVersion == b.rulesVersion && a.evaluationMicroseconds == b.evaluationMicroseconds
            && a.error == b.error && a.rules == b.rules
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
        rulesPart = .values(object)
    }
}
