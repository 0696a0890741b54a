import Support
/// Renders a breakdown for people: the intent, the other intents stated, the concepts read and those set aside
/// (default profile) or the tier and keyword
/// (seed profiles), each modifier, the cap, the LLM part, then any other field the rules added. Used by
/// `score --explain`, the fixture harness and the rules diff.
public enum BreakdownText {
    /// The breakdown as lines, each prefixed with `indent`.
    public static func render(_ breakdown: Breakdown, indent: String = "") -> String {
        var lines = ["urgency \(JSONValue.format(number: breakdown.urgency))   (rules \(breakdown.rulesVersion), "
            + "\(JSONValue.format(number: (breakdown.evaluationMicroseconds * 10).rounded() / 10)) µs)"]
        var rest = breakdown.rules
        rest.removeValue(forKey: "fired")  // for `check --coverage`, not for reading
        let readsConcepts = breakdown.rules["concepts"] != nil  // the default profile's breakdown
        if let intent = rest.removeValue(forKey: "intent") {
            lines.append("  intent         \(intent["name"]?.stringValue ?? "?") (\(intent["level"].map(text) ?? "?"))")
        } else if readsConcepts {
            lines.append("  intent         none stated")
        }
        if let fired = breakdown.rules["fired"]?.arrayValue {
            let others = fired.compactMap(\.stringValue).filter { $0.hasPrefix("intent ") }.map { String($0.dropFirst(7)) }
                .filter { $0 != breakdown.rules["intent"]?["name"]?.stringValue }
            if readsConcepts && !others.isEmpty { lines.append("  also stated    " + others.joined(separator: ", ")) }
        }
        if case .object(let concepts)? = rest.removeValue(forKey: "concepts") {
            let listed = concepts.keys.sorted().map { "\($0) \"\(concepts[$0].map(text) ?? "")\"" }
            lines.append("  concepts       " + listed.joined(separator: ", "))
        }
        if case .object(let setAside)? = rest.removeValue(forKey: "set_aside") {
            for name in setAside.keys.sorted() {
                lines.append("  set aside      \(name) — \(setAside[name].map(text) ?? "")")
            }
        } else {
            _ = rest.removeValue(forKey: "set_aside")
        }
        if let tier = rest.removeValue(forKey: "tier") {
            let name = tier["name"]?.stringValue ?? "?"
            let score = tier["score"].map(text) ?? "?"
            let keyword = tier["keyword"]?.stringValue.map { " — keyword \"\($0)\"" } ?? ""
            lines.append("  tier           \(name) (\(score))\(keyword)")
        } else if breakdown.rules["modifiers"] != nil && !readsConcepts {
            lines.append("  tier           none matched")
        }
        if let modifiers = rest.removeValue(forKey: "modifiers")?.arrayValue {
            if modifiers.isEmpty && !readsConcepts { lines.append("  modifiers      none") }
            for modifier in modifiers {
                let name = modifier["name"]?.stringValue ?? "?"
                if let skipped = modifier["skipped"]?.stringValue {
                    lines.append("  modifier       \(name): not applied (\(skipped))")
                } else {
                    let add = modifier["add"]?.doubleValue ?? 0
                    lines.append("  modifier       \(name) \(add >= 0 ? "+" : "")\(JSONValue.format(number: add))")
                }
            }
        }
        if let capped = rest.removeValue(forKey: "capped")?.boolValue, capped {
            lines.append("  capped         yes")
        }
        if let keywordScore = rest.removeValue(forKey: "keyword_score") {
            lines.append("  keyword score  \(text(keywordScore))")
        }
        if let llm = rest.removeValue(forKey: "llm") {
            if llm["used"]?.boolValue == true {
                lines.append("  llm            \(llm["score"].map(text) ?? "?") (reply \(llm["reply"].map(text) ?? "?"))")
            } else {
                var line = "  llm            skipped: \(llm["skipped"]?.stringValue ?? "?")"
                if let reply = llm["reply"]?.stringValue { line += " (reply \(JSONValue.string(reply).jsonText))" }
                lines.append(line)
            }
        }
        for key in rest.keys.sorted() {
            lines.append("  " + key.padding(toLength: 14, withPad: " ", startingAt: 0) + " " + text(rest[key]!))
        }
        if let error = breakdown.error { lines.append("  error          \(error)") }
        return lines.map { indent + $0 }.joined(separator: "\n")
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .number(let number): JSONValue.format(number: number)
        case .integer(let integer): String(integer)
        case .string(let string): string
        default: value.jsonText
        }
    }
}
