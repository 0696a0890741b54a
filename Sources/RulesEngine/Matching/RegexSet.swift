import CLuaHost

/// Compiled patterns tested together: `set:test(text)` runs them all in one call from Lua and answers with a
/// bit mask, which saves a Lua-to-C round trip per pattern on every message.
final class RegexSet: HostObject, @unchecked Sendable {
    static let maximumCount = 64

    let patterns: [RegexPattern]
    /// The C view (CLuaHost/regex.c), valid while the patterns live.
    let native: UnsafeMutablePointer<uiq_regex_set>

    init(_ patterns: [RegexPattern]) {
        let kept = Array(patterns.prefix(RegexSet.maximumCount))
        let view = UnsafeMutablePointer<uiq_regex_set>.allocate(capacity: 1)
        view.initialize(to: uiq_regex_set())
        view.pointee.count = Int32(kept.count)
        withUnsafeMutableBytes(of: &view.pointee.items) { raw in
            let items = raw.bindMemory(to: UnsafePointer<uiq_regex>?.self)
            for (i, pattern) in kept.enumerated() { items[i] = UnsafePointer(pattern.native) }
        }
        self.patterns = kept
        native = view
    }

    deinit { native.deallocate() }
}
