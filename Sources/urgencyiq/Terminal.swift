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

/// A progress indicator on standard error: a bar when it is a terminal, a line every few seconds otherwise.
/// Nothing is drawn for work that finishes within the first interval. Safe to update from any thread.
final class ProgressReporter: Sendable {
    private let label: String
    private let total: Int?
    private let interval: TimeInterval
    private let isTerminal = Terminal.standardErrorIsTerminal
    private let state: Mutex<(lastDraw: Date, drew: Bool)>

    init(label: String, total: Int? = nil) {
        self.label = label
        self.total = total
        interval = Terminal.standardErrorIsTerminal ? 0.1 : 5
        state = Mutex((Date(), false))
    }

    /// Reports `done` items; draws at most once per interval.
    func update(_ done: Int) {
        let now = Date()
        let due = state.withLock { state -> Bool in
            guard now.timeIntervalSince(state.lastDraw) >= interval else { return false }
            state = (now, true)
            return true
        }
        guard due else { return }
        var text = "\(label): \(done)"
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            if isTerminal {
                let width = 30
                let filled = Int(fraction * Double(width))
                text = "\(label) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
                    + "] \(done)/\(total)"
            } else {
                text += "/\(total) (\(Int(fraction * 100))%)"
            }
        }
        FileHandle.standardError.write(Data((isTerminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }

    /// Clears the bar (terminal) after the last update.
    func finish() {
        if isTerminal && state.withLock({ $0.drew }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
