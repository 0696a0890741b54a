import Foundation
import Support

/// One line per request on standard output: method, path, status, duration (and client), as text or JSON.
public struct RequestLogger: Sendable {
    public enum Format: String, Sendable { case text, json, off }

    public var format: Format

    public init(format: Format) { self.format = format }

    func log(_ entry: RequestLogEntry) {
        if format == .off { return }  // before the clock is read and formatted
        let time = Timestamp.now().isoformat
        let milliseconds = (entry.duration * 1e6).rounded() / 1e3
        let line: String
        switch format {
        case .off: return
        case .text:
            line = "\(time) \(entry.client) \(entry.method) \(entry.path) \(entry.status) \(milliseconds)ms\n"
        case .json:
            line = JSONValue.object([
                "time": .string(time), "client": .string(entry.client), "method": .string(entry.method),
                "path": .string(entry.path), "status": .integer(Int64(entry.status)), "duration_ms": .number(milliseconds),
            ]).jsonText + "\n"
        }
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { _ = write(1, $0.baseAddress, $0.count) }  // one write: lines never interleave
    }
}
