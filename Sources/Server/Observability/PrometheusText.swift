import Foundation

/// Writes the Prometheus text exposition format 0.0.4: `# HELP` and `# TYPE` once per metric family, then its
/// samples, label values escaped as the format asks (backslash, double quote, newline).
struct PrometheusText {
    /// The content type scrapers ask for.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Starts a metric family.
    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n# TYPE \(name) \(type)\n"
    }

    /// One sample.
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(PrometheusText.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + PrometheusText.format(value) + "\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int) { sample(name, labels, Double(value)) }

    /// One sample without labels.
    mutating func sample(_ name: String, _ value: Double) { sample(name, [], value) }

    mutating func sample(_ name: String, _ value: Int) { sample(name, [], Double(value)) }

    /// A whole histogram family's samples for one label set: cumulative buckets, sum, count.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ histogram: MetricHistogram) {
        let (cumulative, sum, count) = histogram.snapshot
        for (index, total) in cumulative.enumerated() {
            let bound = index < histogram.bounds.count ? PrometheusText.format(histogram.bounds[index]) : "+Inf"
            sample(name + "_bucket", labels + [("le", bound)], total)
        }
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, count)
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// A label value as the text format writes it: backslash, double quote and line feed escaped.
    static func escapeLabel(_ value: String) -> String { escape(value, quotes: true) }

    /// A help text as the text format writes it: backslash and line feed escaped.
    static func escapeHelp(_ value: String) -> String { escape(value, quotes: false) }

    /// Escapes scalar by scalar: a quote or backslash followed by a combining mark, or a CR LF, is one `Character`,
    /// which a match on characters would let through unescaped.
    private static func escape(_ value: String, quotes: Bool) -> String {
        var escaped = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: "\\\\".unicodeScalars)
            case "\"" where quotes: escaped.append(contentsOf: "\\\"".unicodeScalars)
            case "\n": escaped.append(contentsOf: "\\n".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
