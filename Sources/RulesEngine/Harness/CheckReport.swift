/// What `urgencyiq check` reports: each failure with the values involved and its breakdown, the passes when
/// asked, and the totals, as text for people, JSON for programs, or JUnit XML for CI systems.
public struct CheckReport: Sendable {
    public var results: [FixtureResult]
    public var rulesVersion: String

    public init(results: [FixtureResult], rulesVersion: String) {
        self.results = results
        self.rulesVersion = rulesVersion
    }

    public var passed: Int { results.count(where: \.passed) }
    public var failed: Int { results.count - passed }

    /// The closing line: `check: N passed, M failed`.
    public var summary: String { "check: \(passed) passed, \(failed) failed" }

    // MARK: Text

    /// Failures as `file:line`, message, expected, got and the breakdown; passes too when `verbose`.
    public func text(verbose: Bool) -> String {
        var out = ""
        for result in results where verbose || !result.passed {
            out += CheckReport.describe(result) + "\n"
        }
        return out + "\(summary) (rules \(rulesVersion))\n"
    }

    static func describe(_ result: FixtureResult) -> String {
        let fixture = result.fixture
        let id = fixture.id.map { " [\($0)]" } ?? ""
        var lines = ["\(fixture.location):\(id) \(result.passed ? "ok" : "FAIL") \(shorten(fixture.message))"]
        let got = result.score.map { JSONValue.format(number: $0) } ?? "error: \(result.error.map(String.init(describing:)) ?? "?")"
        var facts = "  expected \(fixture.expected), got \(got)"
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

    /// `{rules_version, passed, failed, failures: [...], passes: [...] (verbose only)}`.
    public func json(verbose: Bool) -> JSONValue {
        var object: [String: JSONValue] = [
            "rules_version": .string(rulesVersion), "passed": .integer(Int64(passed)), "failed": .integer(Int64(failed)),
            "failures": .array(results.filter { !$0.passed }.map(CheckReport.json)),
        ]
        if verbose { object["passes"] = .array(results.filter(\.passed).map(CheckReport.json)) }
        return .object(object)
    }

    static func json(_ result: FixtureResult) -> JSONValue {
        let fixture = result.fixture
        var object: [String: JSONValue] = [
            "file": .string(fixture.file), "line": .integer(Int64(fixture.line)), "message": .string(fixture.message),
            "expected": .string(fixture.expected.description), "passed": .bool(result.passed),
            "tags": .array(fixture.tags.map(JSONValue.string)),
        ]
        if let id = fixture.id { object["id"] = .string(id) }
        if let note = fixture.note { object["note"] = .string(note) }
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
        for result in results {
            if byFile[result.fixture.file] == nil { files.append(result.fixture.file) }
            byFile[result.fixture.file, default: []].append(result)
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"urgencyiq check\" tests=\"\(results.count)\" failures=\"\(failed)\">\n"
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
                xml += ">\n      <failure message=\"\(escape("expected \(fixture.expected), got \(got)"))\">"
                xml += escape(CheckReport.describe(result)) + "</failure>\n    </testcase>\n"
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
