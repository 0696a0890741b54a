import Foundation
import Support
import Synchronization

/// One line on standard error for every operational failure (a rule failing on a message, an LLM call that
/// failed, the circuit opening or closing, the store failing or recovering), with its context, as text or JSON
/// like the request log. Repeats of one kind are rate-limited: at most `burst` lines per `window` seconds, then one
/// line saying how many were suppressed, so a rule broken at 10,000 messages/s cannot flood the disk.
public final class OperationsLog: Sendable {
    public enum Format: Sendable { case text, json }

    /// The server's log (set up by the server at start; text until then).
    public static let shared = OperationsLog()

    private struct Window {
        var started: Double
        var printed: Int
        var suppressed: Int
    }

    public let burst: Int
    public let window: Double
    private let state = Mutex<(format: Format, windows: [String: Window], sink: (@Sendable (String) -> Void)?)>((.text, [:], nil))

    public init(burst: Int = 5, window: Double = 10) {
        self.burst = burst
        self.window = window
    }

    /// Chooses the format.
    public func configure(format: Format) { state.withLock { $0.format = format } }

    /// Sends the lines to `sink` instead of standard error (nil: standard error again), and starts the rate limits
    /// afresh, so a test reads every line its own actions cause.
    public func redirect(to sink: (@Sendable (String) -> Void)?) {
        state.withLock {
            $0.sink = sink
            $0.windows = [:]
        }
    }

    /// Logs `message` of `kind` (`rule_error`, `llm_failure`, `llm_circuit`, `store_error`, `store_recovered`)
    /// with `fields`, unless this kind already logged `burst` lines in the current window.
    public func report(_ kind: String, _ message: String, level: String = "error", _ fields: [(String, String)] = []) {
        let now = Date().timeIntervalSince1970
        let (lines, sink) = state.withLock { state -> ([String], (@Sendable (String) -> Void)?) in
            var window = state.windows[kind] ?? Window(started: now, printed: 0, suppressed: 0)
            var lines: [String] = []
            if now - window.started >= self.window {
                if window.suppressed > 0 {
                    lines.append(OperationsLog.format(state.format, time: now, level: "warning", kind: kind,
                                                      message: "\(window.suppressed) more \(kind) lines suppressed in the last \(JSONValue.format(number: self.window)) s",
                                                      fields: [("suppressed", String(window.suppressed))]))
                }
                window = Window(started: now, printed: 0, suppressed: 0)
            }
            if window.printed < burst {
                window.printed += 1
                lines.append(OperationsLog.format(state.format, time: now, level: level, kind: kind, message: message, fields: fields))
            } else {
                window.suppressed += 1
            }
            state.windows[kind] = window
            return (lines, state.sink)
        }
        for line in lines {
            if let sink { sink(line) } else { FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
    }

    static func format(_ format: Format, time: Double, level: String, kind: String, message: String, fields: [(String, String)]) -> String {
        let timestamp = Timestamp(microseconds: Int64(time * 1e6)).isoformat
        switch format {
        case .text:
            return "\(timestamp) \(level) \(kind): \(message)" + fields.map { " \($0.0)=\(quoted($0.1))" }.joined()
        case .json:
            var object: [String: JSONValue] = ["time": .string(timestamp), "level": .string(level), "kind": .string(kind),
                                               "message": .string(message)]
            for (name, value) in fields { object[name] = .string(value) }
            return JSONValue.object(object).jsonText
        }
    }

    /// A field value as text: bare when it has no space, quote or control character, else JSON-quoted.
    private static func quoted(_ value: String) -> String {
        if !value.isEmpty && value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0 != "\"" && $0 != "=" }) { return value }
        return JSONValue.string(value).jsonText
    }
}
