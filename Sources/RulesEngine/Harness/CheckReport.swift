import Support
/// What `urgencyiq check` reports: each failure with the values involved and its breakdown, the passes when
/// asked, the accuracy of each labelled set, and the totals, as text for people, JSON for programs, or JUnit
/// XML for CI systems.
public struct CheckReport: Sendable {
    public var results: [FixtureResult]
    public var rulesVersion: String
    /// The labelled sets among the fixtures, with their figures and thresholds.
    public var accuracy: [AccuracySet]

    public init(results: [FixtureResult], rulesVersion: String, accuracy: [AccuracySet] = []) {
        self.results = results
        self.rulesVersion = rulesVersion
        self.accuracy = accuracy
    }

    /// The pass/fail fixtures (a labelled set's fixtures without `expected` only count for accuracy).
    public var checks: [FixtureResult] { results.filter { $0.fixture.expected != nil } }
    public var passed: Int { checks.count(where: \.passed) }
    public var failed: Int { checks.count - passed }
    /// Every accuracy figure that misses its threshold.
    public var accuracyMisses: [String] { accuracy.flatMap(\.misses) }
    /// Whether everything passed: the fixtures and the accuracy thresholds.
    public var isPassing: Bool { failed == 0 && accuracyMisses.isEmpty }

    /// The closing line: `check: N passed, M failed`.
    public var summary: String { "check: \(passed) passed, \(failed) failed" }

    // MARK: Text

    /// Failures as `file:line`, message, expected, got and the breakdown; passes too when `verbose`.
    public func text(verbose: Bool) -> String {
        var out = ""
        for result in checks where verbose || !result.passed {
            out += CheckReport.describe(result) + "\n"
        }
        for set in accuracy {
            out += "\(set.file)\(set.unscored > 0 ? " (\(set.unscored) failed to score)" : "")\n"
            out += set.figures.line + "\n" + set.figures.matrix
        }
        for miss in accuracyMisses { out += "accuracy below its threshold: \(miss)\n" }
        return out + "\(summary) (rules \(rulesVersion))\n"
    }

    static func describe(_ result: FixtureResult) -> String {
        let fixture = result.fixture
        let id = fixture.id.map { " [\($0)]" } ?? ""
        var lines = ["\(fixture.location):\(id) \(result.passed ? "ok" : "FAIL") \(shorten(fixture.message))"]
        let got = result.score.map { JSONValue.format(number: $0) } ?? "error: \(result.error.map(String.init(describing:)) ?? "?")"
        var facts = fixture.expected.map { "  expected \($0), got \(got)" } ?? "  label \(fixture.label ?? 0), got \(got)"
        if fixture.llmEnabled { facts += ", LLM replay \(fixture.llmReply.map { JSONValue.string($0).jsonText } ?? "(none)")" }
        if !fixture.tags.isEmpty { facts += ", tags \(fixture.tags.joined(separator: " "))" }
        lines.append(facts)
        if let note = fixture.note { lines.append("  note: \(note)") }
        if let breakdown = result.breakdown { lines.append(BreakdownText.render(breakdown, indent: "  ")) }
        return lines.joined(separator: "\n")
    }

    /// The message on one line, quoted, at most 80 characters.
    static func shorten(_ message: String, limit: Int = 80) -> String {
        let short = message.count > limit ? String(message.prefix(limit)) + "…" : message
        return JSONValue.string(short).jsonText
    }

    // MARK: JSON

    /// `{rules_version, passed, failed, failures: [...], passes: [...] (verbose only), accuracy: [...]}`.
    public func json(verbose: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "rules_version": .string(rulesVersion), "passed": .integer(Int64(passed)), "failed": .integer(Int64(failed)),
            "failures": .array(checks.filter { !$0.passed }.map(CheckReport.json)),
        ]
        if verbose { object["passes"] = .array(checks.filter(\.passed).map(CheckReport.json)) }
        if !accuracy.isEmpty {
            object["accuracy"] = .array(accuracy.map { set in
                var figures = set.figures.json
                if case .object(var members) = figures {
                    members["file"] = .string(set.file)
                    members["unscored"] = .integer(Int64(set.unscored))
                    members["below_threshold"] = .array(set.thresholds.misses(set.figures).map(JSONValue.string))
                    figures = .object(members)
                }
                return figures
            })
        }
        return .object(object)
    }

    static func json(_ result: FixtureResult) -> JSONValue {
        let fixture = result.fixture
        var object: [String: JSONValue] = [
            "file": .string(fixture.file), "line": .integer(Int64(fixture.line)), "message": .string(fixture.message),
            "expected": fixture.expected.map { .string($0.description) } ?? .null, "passed": .bool(result.passed),
            "tags": .array(fixture.tags.map(JSONValue.string)),
        ]
        if let id = fixture.id { object["id"] = .string(id) }
        if let note = fixture.note { object["note"] = .string(note) }
        if let label = fixture.label { object["label"] = .integer(Int64(label)) }
        if let score = result.score { object["got"] = .number(score) }
        if let error = result.error { object["error"] = .string(error.description) }
        if let breakdown = result.breakdown { object["breakdown"] = breakdown.json }
        if fixture.llmEnabled {
            object["llm_enabled"] = true
            object["llm"] = fixture.llmReply.map(JSONValue.string) ?? .null
        }
        return .object(object)
    }

    // MARK: JUnit

    /// JUnit XML: one test suite per fixture file, one test case per fixture, failures with their breakdown.
    public func junit() -> String {
        var files: [String] = []
        var byFile: [String: [FixtureResult]] = [:]
        for result in checks {
            if byFile[result.fixture.file] == nil { files.append(result.fixture.file) }
            byFile[result.fixture.file, default: []].append(result)
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let accuracyFailures = accuracy.count(where: { !$0.misses.isEmpty })
        xml += "<testsuites name=\"urgencyiq check\" tests=\"\(checks.count + accuracy.count)\" failures=\"\(failed + accuracyFailures)\">\n"
        for file in files {
            let cases = byFile[file]!
            xml += "  <testsuite name=\"\(escape(file))\" tests=\"\(cases.count)\" failures=\"\(cases.count(where: { !$0.passed }))\">\n"
            for result in cases {
                let fixture = result.fixture
                let name = "\(fixture.id ?? "line \(fixture.line)"): \(CheckReport.shorten(fixture.message, limit: 60))"
                xml += "    <testcase classname=\"\(escape(file))\" name=\"\(escape(name))\""
                if result.passed {
                    xml += "/>\n"
                    continue
                }
                let got = result.score.map { JSONValue.format(number: $0) } ?? "error"
                xml += ">\n      <failure message=\"\(escape("expected \(fixture.expected.map(\.description) ?? "?"), got \(got)"))\">"
                xml += escape(CheckReport.describe(result)) + "</failure>\n    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        if !accuracy.isEmpty {
            // One test case per labelled set: its figures as properties, failing when one misses its threshold.
            xml += "  <testsuite name=\"accuracy\" tests=\"\(accuracy.count)\" failures=\"\(accuracyFailures)\">\n"
            for set in accuracy {
                let figures = set.figures
                xml += "    <testcase classname=\"accuracy\" name=\"\(escape(set.file))\">\n      <properties>"
                for (name, value) in [("n", Double(figures.count)), ("mae", figures.meanAbsoluteError), ("exact", figures.exact),
                                      ("within1", figures.withinOne), ("pairwise", figures.pairwise)] {
                    xml += "<property name=\"\(name)\" value=\"\(name == "n" ? String(figures.count) : AccuracyFigures.three(value))\"/>"
                }
                xml += "</properties>\n"
                let misses = set.thresholds.misses(figures)
                if !misses.isEmpty {
                    xml += "      <failure message=\"\(escape(misses.joined(separator: "; ")))\">\(escape(figures.line))</failure>\n"
                }
                xml += "      <system-out>\(escape(figures.line + "\n" + figures.matrix))</system-out>\n    </testcase>\n"
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    /// XML text: markup characters escaped, characters XML 1.0 forbids replaced by U+FFFD.
    private func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF: out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
