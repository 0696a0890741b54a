import Foundation

/// Buffered writes to standard output and standard error, and whether they are terminals.
enum Terminal {
    nonisolated(unsafe) private static var outputBuffer: [UInt8] = []

    /// Appends to standard output (flushed at 64 KiB and by `flush()`).
    static func write(_ text: String) {
        outputBuffer.append(contentsOf: text.utf8)
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
final class ProgressReporter {
    private let label: String
    private let total: Int?
    private var lastDraw = Date()
    private let interval: TimeInterval
    private let isTerminal = Terminal.standardErrorIsTerminal
    private var drew = false

    init(label: String, total: Int? = nil) {
        self.label = label
        self.total = total
        interval = isTerminal ? 0.1 : 5
    }

    /// Reports `done` items; draws at most every interval (the first time one interval after the start).
    func update(_ done: Int, force: Bool = false) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) >= interval else { return }
        lastDraw = now
        drew = true
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
        if isTerminal && drew { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
