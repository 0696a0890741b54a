import Foundation
import Synchronization

/// Buffered writes to standard output and standard error, and whether they are terminals.
enum Terminal {
    nonisolated(unsafe) private static var outputBuffer: [UInt8] = []

    /// Appends to standard output (flushed at 64 KiB and by `flush()`).
    static func write(_ text: String) {
        outputBuffer.append(contentsOf: text.utf8)
        if outputBuffer.count >= 1 << 16 { flush() }
    }

    /// Buffers bytes for standard output (written when the buffer is full, and at `flush`).
    static func write(bytes: [UInt8]) {
        outputBuffer.append(contentsOf: bytes)
        if outputBuffer.count >= 1 << 16 { flush() }
    }

    static func flush() {
        guard !outputBuffer.isEmpty else { return }
        FileHandle.standardOutput.write(Data(outputBuffer))
        outputBuffer.removeAll(keepingCapacity: true)
    }

    /// Writes a line to standard error right away.
    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static var standardErrorIsTerminal: Bool { isatty(2) != 0 }
    static var standardOutputIsTerminal: Bool { isatty(1) != 0 }
}

/// A progress indicator on standard error: a bar when it is a terminal, a line every few seconds otherwise, each
/// with the count, the rate and, when the total is known, the time left. Nothing is drawn for work that finishes
/// within the first interval. Safe to update from any thread.
final class ProgressReporter: Sendable {
    /// What is counted: items (messages, fixtures) or bytes (of a file being read).
    enum Unit: Sendable { case items, bytes }

    private let label: String
    private let total: Int?
    private let unit: Unit
    private let interval: TimeInterval
    /// Draw a bar redrawn in place (standard error is a terminal) or lines.
    private let isTerminal: Bool
    private let started = Date()
    private let state: Mutex<(lastDraw: Date, drew: Bool)>

    init(label: String, total: Int? = nil, unit: Unit = .items, terminal: Bool = Terminal.standardErrorIsTerminal) {
        self.label = label
        self.total = total
        self.unit = unit
        isTerminal = terminal
        interval = terminal ? 0.1 : 5
        state = Mutex((Date(), false))
    }

    /// Reports `done` units; draws at most once per interval.
    func update(_ done: Int) {
        let now = Date()
        let due = state.withLock { state -> Bool in
            guard now.timeIntervalSince(state.lastDraw) >= interval else { return false }
            state = (now, true)
            return true
        }
        guard due else { return }
        let text = line(done, elapsed: now.timeIntervalSince(started))
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }

    /// `importing [#####.....] 41% 12.3 MB of 30.0 MB, 4.1 MB/s, 4 s left`.
    func line(_ done: Int, elapsed: TimeInterval) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var text = label
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            if isTerminal {
                let filled = Int(fraction * 30)
                text += " [" + String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled) + "]"
            } else {
                text += ":"
            }
            text += " \(Int(fraction * 100))% \(amount(done)) of \(amount(total)), \(amount(Int(rate)))/s"
            if rate > 0, done < total { text += ", " + ProgressReporter.duration(Double(total - done) / rate) + " left" }
        } else {
            text += ": \(amount(done)), \(amount(Int(rate)))/s"
        }
        return text
    }

    /// A count with thousands separators, or bytes in kB/MB/GB.
    private func amount(_ value: Int) -> String {
        switch unit {
        case .items:
            let digits = String(value)
            return String(digits.reversed().enumerated().map { $0.offset > 0 && $0.offset % 3 == 0 ? [",", $0.element] : [$0.element] }
                .joined().reversed())
        case .bytes:
            let units = [(1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
            for (size, name) in units where Double(value) >= size { return String(format: "%.1f %@", Double(value) / size, name) }
            return "\(value) B"
        }
    }

    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(Int(seconds.rounded(.up))) s" }
        if seconds < 3600 { return "\(Int(seconds / 60)) min \(Int(seconds.truncatingRemainder(dividingBy: 60))) s" }
        return "\(Int(seconds / 3600)) h \(Int(seconds.truncatingRemainder(dividingBy: 3600) / 60)) min"
    }

    /// Clears the bar (terminal) after the last update.
    func finish() {
        if isTerminal && state.withLock({ $0.drew }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
