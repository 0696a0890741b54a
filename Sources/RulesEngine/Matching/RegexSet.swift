import CLuaHost
import Foundation
import Synchronization

/// Compiled patterns tested together, in C: `set:test(text)` answers with a bit mask (sets of up to 64),
/// `set:matches(text)` with the numbers of the patterns that match (any size).
///
/// A set of more than `prefilterThreshold` patterns (and at most `prefilterLimit`) also gets a prefilter: a Vectorscan (Hyperscan) database of
/// the patterns, compiled in prefilter mode (it may let through a text a pattern does not match, never the
/// reverse), so one pass over the message finds the few candidates and PCRE2 confirms only those: the cost
/// grows with the candidates, not with the size of the set. PCRE2 stays the judge, so Python `re` semantics hold
/// exactly. Patterns Vectorscan cannot judge (some PCRE features, the `x` flag, inline options, `\Q…\E`, caseless
/// patterns with non-ASCII letters) are always tried with PCRE2; so is every pattern on a text the prefilter cannot be trusted with
/// (invalid UTF-8; ſ or K, which PCRE2 folds to s and k).
final class RegexSet: HostObject, @unchecked Sendable {
    /// The most patterns in one set.
    static let maximumCount = 100_000
    /// Sets of at most this many patterns run every pattern (as fast, and no database to build).
    static let prefilterThreshold = 8
    /// Sets of more than this many run every pattern too: compiling their database would take minutes (native time
    /// no instruction budget bounds; 1,000 patterns take about half a second).
    static let prefilterLimit = 10_000
    private static let nextID = Atomic<UInt64>(1)

    let patterns: [RegexPattern]
    /// The C view (CLuaHost/regex.c), valid while the patterns live.
    let native: UnsafeMutablePointer<uiq_regex_set>
    private let items: UnsafeMutablePointer<UnsafePointer<uiq_regex>?>
    private let unfiltered: UnsafeMutablePointer<Int32>
    /// Patterns the prefilter judges, and of those how many on bytes (for tests and the benchmark).
    let prefilteredCount: Int
    let bytePrefilteredCount: Int

    init(_ patterns: [RegexPattern], prefilterThreshold: Int = RegexSet.prefilterThreshold) {
        let kept = Array(patterns.prefix(RegexSet.maximumCount))
        self.patterns = kept
        items = .allocate(capacity: max(kept.count, 1))
        for (i, pattern) in kept.enumerated() { items[i] = UnsafePointer(pattern.native) }
        var judged = [Int32](repeating: 0, count: kept.count)
        var database: UnsafeMutableRawPointer?, byteDatabase: UnsafeMutableRawPointer?
        var onBytesCount = 0
        if kept.count > prefilterThreshold, kept.count <= RegexSet.prefilterLimit {
            let sources = kept.map { RegexSet.prefilterSource($0.source) }
            let onBytes = sources.map(RegexSet.meansTheSameOnBytes)
            let flags: [UInt32] = kept.map { pattern in
                var flags: UInt32 = 0
                if pattern.flags.caseless { flags |= uiq_prefilter_flag_caseless() }
                if pattern.flags.dotAll { flags |= uiq_prefilter_flag_dotall() }
                if pattern.flags.multiline { flags |= uiq_prefilter_flag_multiline() }
                return flags
            }
            let pointers = sources.map { strdup($0) }
            defer { for pointer in pointers { free(pointer) } }
            let constPointers = pointers.map { UnsafePointer<CChar>($0) }
            // Two databases: the patterns that mean the same on bytes, and the rest in UTF-8 mode with Unicode
            // properties (several times more costly to compile).
            var forUTF8 = kept.indices.map { RegexSet.prefilterable(kept[$0]) && !onBytes[$0] ? Int32(1) : 0 }
            var forBytes = kept.indices.map { RegexSet.prefilterable(kept[$0]) && onBytes[$0] ? Int32(1) : 0 }
            if forUTF8.contains(1) { database = uiq_prefilter_compile(constPointers, flags, Int32(kept.count), &forUTF8, 1) }
            if forBytes.contains(1) { byteDatabase = uiq_prefilter_compile(constPointers, flags, Int32(kept.count), &forBytes, 0) }
            for i in kept.indices { judged[i] = forUTF8[i] | forBytes[i] }
            onBytesCount = forBytes.filter { $0 != 0 }.count
        }
        let hasPrefilter = database != nil || byteDatabase != nil
        let unfilteredIndices = hasPrefilter ? judged.indices.filter { judged[$0] == 0 }.map { Int32($0) } : []
        unfiltered = .allocate(capacity: max(unfilteredIndices.count, 1))
        for (i, index) in unfilteredIndices.enumerated() { unfiltered[i] = index }
        prefilteredCount = hasPrefilter ? kept.count - unfilteredIndices.count : 0
        bytePrefilteredCount = onBytesCount
        let caselessFiltered = kept.indices.contains { judged[$0] != 0 && kept[$0].flags.caseless }
        native = .allocate(capacity: 1)
        native.initialize(to: uiq_regex_set(
            count: Int32(kept.count), items: items, prefilter: database, byte_prefilter: byteDatabase, unfiltered: UnsafePointer(unfiltered),
            unfiltered_count: Int32(unfilteredIndices.count), caseless_filtered: caselessFiltered ? 1 : 0,
            id: RegexSet.nextID.add(1, ordering: .relaxed).newValue))
    }

    deinit {
        uiq_prefilter_free(native.pointee.prefilter)
        uiq_prefilter_free(native.pointee.byte_prefilter)
        native.deallocate()
        items.deallocate()
        unfiltered.deallocate()
    }

    /// What the prefilter compiles for `source`: the pattern without its word-boundary assertions (`\b`, `\B`
    /// outside character classes). Dropping an assertion only widens what matches, which a prefilter may do, and
    /// Unicode word boundaries are most of what a large database costs to compile.
    static func prefilterSource(_ source: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(source.utf8)
        var i = 0, inClass = false
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\\"), i + 1 < bytes.count {
                let next = bytes[i + 1]
                if !inClass, next == UInt8(ascii: "b") || next == UInt8(ascii: "B") {
                    i += 2
                    continue
                }
                out += [byte, next]
                i += 2
                continue
            }
            if !inClass, byte == UInt8(ascii: "[") {
                inClass = true
                out.append(byte)
                i += 1
                // A `]` first in the class (after an optional `^`) is a literal.
                if i < bytes.count, bytes[i] == UInt8(ascii: "^") { out.append(bytes[i]); i += 1 }
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { out.append(bytes[i]); i += 1 }
                continue
            }
            if inClass, byte == UInt8(ascii: "["), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ":") {
                // A POSIX class, [:alpha:], inside the class: copied whole.
                var j = i + 2
                while j + 1 < bytes.count, !(bytes[j] == UInt8(ascii: ":") && bytes[j + 1] == UInt8(ascii: "]")) { j += 1 }
                let end = min(j + 2, bytes.count)
                out += bytes[i..<end]
                i = end
                continue
            }
            if inClass, byte == UInt8(ascii: "]") { inClass = false }
            out.append(byte)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether a (prefilter) source matches the same byte strings in Hyperscan's byte mode as in UTF-8 mode with
    /// Unicode properties: all ASCII; no class escapes (`\w`, `\d`, `\s`, `\p`…, Unicode-wide in UTF-8 mode); no
    /// negated class and no `.` unless repeated with `*` or `+` (one character there may be several bytes).
    static func meansTheSameOnBytes(_ source: String) -> Bool {
        let bytes = Array(source.utf8)
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return false }
        var i = 0, inClass = false
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\\") {
                guard i + 1 < bytes.count else { return false }
                // Class escapes (Unicode-wide in UTF-8 mode), and escapes that name a character by number (`\xe9` is
                // é in UTF-8 mode, a lone byte that valid UTF-8 never has on bytes): the UTF-8 database decides those.
                if "wWdDsShHvVRXNpPCQExoc0123456789".utf8.contains(bytes[i + 1]) { return false }
                i += 2
                continue
            }
            if !inClass, byte == UInt8(ascii: "[") {
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "^") || bytes[i + 1] == UInt8(ascii: "]") { return false }
                if source.contains("[:") { return false }
                inClass = true
            } else if inClass, byte == UInt8(ascii: "]") {
                inClass = false
            } else if !inClass, byte == UInt8(ascii: ".") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "*") || bytes[i + 1] == UInt8(ascii: "+") else { return false }
            }
            i += 1
        }
        return true
    }

    /// Whether the prefilter may judge `pattern`: not with the `x` flag (Vectorscan has no such flag), and not a
    /// caseless pattern with non-ASCII characters (its Unicode case folding is PCRE2's to decide).
    static func prefilterable(_ pattern: RegexPattern) -> Bool {
        if pattern.flags.extended { return false }
        let source = pattern.source
        // A NUL would cut the C string the prefilter compiles; \Q…\E quotes what the prefilter's copy would edit.
        if source.utf8.contains(0) || source.contains("\\Q") { return false }
        // Caseless non-ASCII letters, written out or as escapes (\x{17F}, \N{…}, \p{…}): PCRE2's case folding decides.
        if pattern.flags.caseless,
           source.utf8.contains(where: { $0 >= 0x80 }) || ["\\x", "\\o", "\\N", "\\p", "\\P"].contains(where: source.contains) {
            return false
        }
        // Inline options (`(?i)`, `(?x:…)`) could switch either on inside the pattern: PCRE2 alone decides those.
        let bytes = Array(source.utf8)
        for i in bytes.indices.dropLast(2) where bytes[i] == UInt8(ascii: "(") && bytes[i + 1] == UInt8(ascii: "?") {
            let next = bytes[i + 2]
            if next == UInt8(ascii: "-") || (next >= UInt8(ascii: "a") && next <= UInt8(ascii: "z")) { return false }
        }
        return true
    }
}
