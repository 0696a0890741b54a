/// The lexicon's wildcard words — `reject*` (a prefix), `*lipa` (a suffix), `*block*` (inside) — indexed by
/// three letters of their fixed part, so a word is tested only against the patterns that can match it.
final class WildcardIndex: @unchecked Sendable {
    enum Kind: UInt8 { case prefix, suffix, infix }

    struct Pattern: Hashable {
        var kind: Kind
        var core: [UInt8]
    }

    /// The index as plain pointers, for the hot path.
    struct View {
        fileprivate let cores: UnsafePointer<UInt8>
        fileprivate let coreStart: UnsafePointer<Int32>
        fileprivate let coreLength: UnsafePointer<Int32>
        fileprivate let kinds: UnsafePointer<UInt8>
        fileprivate let slotKeys: UnsafePointer<UInt32>
        fileprivate let slotStart: UnsafePointer<Int32>
        fileprivate let slotCount: UnsafePointer<Int32>
        fileprivate let listed: UnsafePointer<Int32>
        fileprivate let mask: Int
        fileprivate let shift: Int
        let isEmpty: Bool

        /// Calls `found` with every pattern `word` matches (each once); with `prefixesOnly`, prefix patterns only.
        @inline(__always)
        func forEachMatch(_ word: UnsafeBufferPointer<UInt8>, prefixesOnly: Bool = false, _ found: (Int32) -> Void) {
            let count = word.count
            guard !isEmpty, count >= 3 else { return }
            // prefixes, and infixes at the start, by the first three letters
            for pattern in candidates(WildcardIndex.trigram(word, 0)) {
                let length = Int(coreLength[Int(pattern)])
                guard length <= count, matches(pattern, word, at: 0) else { continue }
                let kind = kinds[Int(pattern)]
                if kind == Kind.prefix.rawValue || (!prefixesOnly && kind == Kind.infix.rawValue) { found(pattern) }
            }
            if prefixesOnly { return }
            // suffixes by their first three letters where they would start; infixes further in
            if count > 3 {
                for position in 1...(count - 3) {
                    for pattern in candidates(WildcardIndex.trigram(word, position)) {
                        let kind = kinds[Int(pattern)], length = Int(coreLength[Int(pattern)])
                        if kind == Kind.prefix.rawValue || position + length > count { continue }
                        if kind == Kind.suffix.rawValue && position + length != count { continue }
                        guard matches(pattern, word, at: position) else { continue }
                        if kind == Kind.infix.rawValue, earlierMatch(pattern, word, before: position) { continue }
                        found(pattern)
                    }
                }
            }
            // a suffix the whole word is
            for pattern in candidates(WildcardIndex.trigram(word, 0)) where kinds[Int(pattern)] == Kind.suffix.rawValue {
                if Int(coreLength[Int(pattern)]) == count, matches(pattern, word, at: 0) { found(pattern) }
            }
        }

        @inline(__always)
        private func matches(_ pattern: Int32, _ word: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
            let start = cores + Int(coreStart[Int(pattern)])
            for i in 0..<Int(coreLength[Int(pattern)]) where start[i] != word[position + i] { return false }
            return true
        }

        /// Whether an infix was already found at an earlier position (it is reported once per word).
        private func earlierMatch(_ pattern: Int32, _ word: UnsafeBufferPointer<UInt8>, before position: Int) -> Bool {
            for earlier in 0..<position where matches(pattern, word, at: earlier) { return true }
            return false
        }

        /// The patterns whose fixed part starts with this trigram.
        @inline(__always)
        private func candidates(_ trigram: UInt32) -> Candidates {
            var slot = Int(truncatingIfNeeded: (UInt64(trigram) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
            while true {
                let key = slotKeys[slot]
                if key == trigram { return Candidates(list: listed + Int(slotStart[slot]), count: Int(slotCount[slot])) }
                if key == WildcardIndex.empty { return Candidates(list: listed, count: 0) }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Pattern numbers from the index.
    struct Candidates: Sequence, IteratorProtocol {
        let list: UnsafePointer<Int32>
        let count: Int
        var position = 0
        init(list: UnsafePointer<Int32>, count: Int) {
            self.list = list
            self.count = count
        }
        mutating func next() -> Int32? {
            guard position < count else { return nil }
            position += 1
            return list[position - 1]
        }
    }

    let patterns: [Pattern]
    private let storage: [AnyObject]
    let view: View

    fileprivate static let empty = UInt32.max

    @inline(__always)
    fileprivate static func trigram(_ word: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        UInt32(word[at]) | UInt32(word[at + 1]) << 8 | UInt32(word[at + 2]) << 16
    }

    /// An index of these patterns (each core at least three bytes); pattern i is number i.
    init(_ patterns: [Pattern]) {
        self.patterns = patterns
        var cores: [UInt8] = [], starts: [Int32] = [], lengths: [Int32] = [], kinds: [UInt8] = []
        var byTrigram: [UInt32: [Int32]] = [:]
        for (index, pattern) in patterns.enumerated() {
            precondition(pattern.core.count >= 3)
            starts.append(Int32(cores.count))
            lengths.append(Int32(pattern.core.count))
            kinds.append(pattern.kind.rawValue)
            cores.append(contentsOf: pattern.core)
            let key = pattern.core.withUnsafeBufferPointer { WildcardIndex.trigram($0, 0) }
            byTrigram[key, default: []].append(Int32(index))
        }
        var capacity = 16, bits = 4
        while capacity < byTrigram.count * 2 { capacity <<= 1; bits += 1 }
        var keys = [UInt32](repeating: WildcardIndex.empty, count: capacity)
        var slotStart = [Int32](repeating: 0, count: capacity), slotCount = [Int32](repeating: 0, count: capacity)
        var listed: [Int32] = []
        for (key, list) in byTrigram {
            var slot = Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
            while keys[slot] != WildcardIndex.empty { slot = (slot + 1) & (capacity - 1) }
            keys[slot] = key
            slotStart[slot] = Int32(listed.count)
            slotCount[slot] = Int32(list.count)
            listed.append(contentsOf: list)
        }
        let frozen = (FrozenArray(cores), FrozenArray(starts), FrozenArray(lengths), FrozenArray(kinds), FrozenArray(keys),
                      FrozenArray(slotStart), FrozenArray(slotCount), FrozenArray(listed))
        storage = [frozen.0, frozen.1, frozen.2, frozen.3, frozen.4, frozen.5, frozen.6, frozen.7]
        view = View(cores: frozen.0.pointer, coreStart: frozen.1.pointer, coreLength: frozen.2.pointer, kinds: frozen.3.pointer,
                    slotKeys: frozen.4.pointer, slotStart: frozen.5.pointer, slotCount: frozen.6.pointer,
                    listed: frozen.7.pointer, mask: capacity - 1, shift: 64 - bits, isEmpty: patterns.isEmpty)
    }
}
