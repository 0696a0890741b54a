import Support
/// One Lua file of a rule set: its path relative to the rules directory, its bytes and their SHA-256.
///
/// The bytes live at a stable address for the file's lifetime, so `require` can hand them to Lua without
/// copying them first.
public final class RuleFile: @unchecked Sendable {
    /// Path relative to the rules directory, with `/` separators (`urgency.lua`, `lib/tiers.lua`).
    public let path: String
    /// Hex SHA-256 of the contents.
    public let sha256: String
    private let storage: UnsafeMutableRawBufferPointer
    private let count: Int

    public init(path: String, contents: [UInt8]) {
        self.path = path
        sha256 = SHA256.hex(contents)
        count = contents.count
        storage = .allocate(byteCount: max(contents.count, 1), alignment: 1)
        storage.copyBytes(from: contents)
    }

    deinit { storage.deallocate() }

    /// The contents, valid while the file is alive.
    var sourceBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: storage[0..<count]) }

    /// The contents as text (invalid UTF-8 shown as U+FFFD).
    public var source: String { String(decoding: sourceBytes, as: UTF8.self) }

    public var byteCount: Int { count }
}

extension RuleFile {
    /// The entries of a list file (`.keywords`, for `keywords.list` and `lexicon.list`): one per line, a trailing
    /// `\r` dropped, blank lines and lines starting with `#` skipped.
    var listEntries: [String] {
        let bytes = sourceBytes
        var entries: [String] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var last = end
            if last > start, bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            if last > start, bytes[start] != UInt8(ascii: "#") {
                let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<last]), as: UTF8.self)
                if !line.allSatisfy(\.isWhitespace) { entries.append(line) }
            }
            start = end + 1
        }
        return entries
    }
}
