/// Forgives one typing slip in a word: finds the vocabulary word (of `minimumLength` letters or more) that a
/// word is one edit from — a letter missing, extra or two letters swapped, or one letter wrong in words of seven
/// letters or more (in shorter words a different letter is too often a different word: kunipa is not kuniua); never
/// at the first letter.
/// Symmetric deletion: every vocabulary word with one letter removed is indexed once, so a lookup costs a few
/// hash probes per letter of the word, with no allocation.
final class SpellingCorrector: @unchecked Sendable {
    let minimumLength: Int
    /// Longest word looked at (longer ones are not words people misspell, and the variants fit a small buffer).
    static let maximumLength = 30
    private let vocabulary: ByteTable
    /// A vocabulary word with one letter removed → its group of vocabulary ids, or, for the many variants that only
    /// one word has, that word's id as `-1 - id` (no group stored).
    private let deletions: ByteTable
    private let groupStart: FrozenArray<Int32>
    private let groupCount: FrozenArray<Int32>
    private let groups: FrozenArray<Int32>

    /// A corrector for the words of `vocabulary` (ids are its entry numbers) of `minimumLength` letters or more,
    /// ASCII only.
    init(vocabulary: ByteTable, minimumLength: Int) {
        self.minimumLength = minimumLength
        self.vocabulary = vocabulary
        // Every variant is a key of the deletion table (its entry number is its group); (group, id) pairs are
        // collected flat, each id once per group, then laid out group by group in id order.
        var builder = ByteTable.Builder(expected: minimumLength > 0 ? vocabulary.count * 4 : 0)
        var pairGroup: [Int32] = [], pairID: [Int32] = [], lastID: [Int32] = []
        if minimumLength > 0 {
            let view = vocabulary.view
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SpellingCorrector.maximumLength + 1) { buffer in
                for id in 0..<Int32(vocabulary.count) {
                    let word = view.key(at: id)
                    guard word.count >= minimumLength, word.count <= SpellingCorrector.maximumLength + 1,
                          word.allSatisfy({ $0 < 0x80 }) else { continue }
                    for position in 0..<word.count {
                        var length = 0
                        for i in 0..<word.count where i != position {
                            buffer[length] = word[i]
                            length += 1
                        }
                        let (group, added) = builder.insert(UnsafeBufferPointer(rebasing: buffer[0..<length]), value: Int32(builder.count))
                        if added { lastID.append(-1) }
                        if lastID[Int(group)] != id {
                            lastID[Int(group)] = id
                            pairGroup.append(group)
                            pairID.append(id)
                        }
                    }
                }
            }
        }
        var sizes = [Int32](repeating: 0, count: builder.count)
        var single = [Int32](repeating: -1, count: builder.count)
        for (entry, id) in zip(pairGroup, pairID) {
            sizes[Int(entry)] += 1
            single[Int(entry)] = id
        }
        // Variants of one word store it in the table; only shared variants get a group.
        var groupOf = [Int32](repeating: -1, count: builder.count)
        var starts: [Int32] = [], counts: [Int32] = []
        var total: Int32 = 0
        for entry in 0..<builder.count {
            if sizes[entry] == 1 {
                builder.setValue(-1 - single[entry], forEntry: Int32(entry))
            } else {
                groupOf[entry] = Int32(starts.count)
                builder.setValue(Int32(starts.count), forEntry: Int32(entry))
                starts.append(total)
                counts.append(sizes[entry])
                total += sizes[entry]
            }
        }
        var flat = [Int32](repeating: 0, count: Int(total))
        var next = starts
        for (entry, id) in zip(pairGroup, pairID) where groupOf[Int(entry)] >= 0 {
            let group = Int(groupOf[Int(entry)])
            flat[Int(next[group])] = id
            next[group] += 1
        }
        deletions = ByteTable(builder)
        groupStart = FrozenArray(starts)
        groupCount = FrozenArray(counts)
        groups = FrozenArray(flat)
    }

    /// The vocabulary id `word` is a slip of, the lowest when several are; nil when none is (or `word` is not an
    /// ASCII word of a plausible length).
    func correction(of word: UnsafeBufferPointer<UInt8>) -> Int32? {
        let count = word.count
        guard minimumLength > 0, count >= minimumLength - 1, count <= SpellingCorrector.maximumLength else { return nil }
        for byte in word where byte >= 0x80 { return nil }
        let vocabulary = self.vocabulary.view, deletions = self.deletions.view
        var best: Int32 = .max
        // The word is a vocabulary word with one letter dropped.
        if let group = deletions.value(of: word) { best = bestInGroup(group, word, below: best) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SpellingCorrector.maximumLength) { buffer in
            for position in 0..<count {
                var length = 0
                for i in 0..<count where i != position {
                    buffer[length] = word[i]
                    length += 1
                }
                let variant = UnsafeBufferPointer(rebasing: buffer[0..<length])
                // The word has one letter too many.
                if let id = vocabulary.value(of: variant), id < best, vocabulary.key(at: id).count >= minimumLength { best = id }
                // One letter wrong, or two swapped: both lose the same letter.
                if let group = deletions.value(of: variant) { best = bestInGroup(group, word, below: best) }
            }
            return best == .max ? nil : best
        }
    }

    /// The lowest id below `best` in the group (or the single word a negative value names) that is within one edit of
    /// `word`, or `best`.
    @inline(__always)
    private func bestInGroup(_ group: Int32, _ word: UnsafeBufferPointer<UInt8>, below best: Int32) -> Int32 {
        let vocabulary = self.vocabulary.view
        if group < 0 {
            let id = -1 - group
            return id < best && SpellingCorrector.withinOneEdit(word, vocabulary.key(at: id)) ? id : best
        }
        var best = best
        let start = Int(groupStart.pointer[Int(group)])
        for index in start..<start + Int(groupCount.pointer[Int(group)]) {
            let id = groups.pointer[index]
            if id < best, SpellingCorrector.withinOneEdit(word, vocabulary.key(at: id)) { best = id }
        }
        return best
    }

    /// Whether the keys of letters `x` and `y` touch on a QWERTY keyboard (rows shifted as on the keys).
    static func neighbours(_ x: UInt8, _ y: UInt8) -> Bool {
        guard let p = keyPosition[Int(x)], let q = keyPosition[Int(y)], x != y else { return false }
        return abs(p.row - q.row) <= 1 && abs(p.column - q.column) <= 1.0
    }

    /// Each lower-case letter's row and column (the rows are offset by half a key and a key).
    private static let keyPosition: [(row: Int, column: Double)?] = {
        var positions = [(row: Int, column: Double)?](repeating: nil, count: 128)
        for (row, keys) in ["qwertyuiop", "asdfghjkl", "zxcvbnm"].enumerated() {
            for (column, key) in keys.utf8.enumerated() { positions[Int(key)] = (row, Double(column) + Double(row) * 0.5) }
        }
        return positions
    }()

    /// Whether `a` and `b` differ by at most one insertion, deletion or adjacent transposition, or one
    /// substitution in words of seven letters or more, of a key next to the right one (a slip of the finger: "loam" for
    /// "loan"; "nimechezewa" is not a slip for "nimechelewa", it is another word).
    static func withinOneEdit(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        if a.count == b.count && a.elementsEqual(b) { return true }
        if abs(a.count - b.count) > 1 { return false }
        var i = 0
        while i < min(a.count, b.count) && a[i] == b[i] { i += 1 }
        // Never the first letter: people rarely slip there, and in Swahili it is the subject (nimeingia is "I got
        // in", kimeingia "it came in").
        if i == 0 { return false }
        func same(_ x: Int, _ y: Int) -> Bool {  // a[x...] == b[y...]
            guard a.count - x == b.count - y else { return false }
            for k in 0..<(a.count - x) where a[x + k] != b[y + k] { return false }
            return true
        }
        if a.count == b.count {
            if i + 1 < a.count && a[i] == b[i + 1] && a[i + 1] == b[i] && same(i + 2, i + 2) { return true }  // swap
            return a.count >= 7 && SpellingCorrector.neighbours(a[i], b[i]) && same(i + 1, i + 1)  // substitution
        }
        return a.count > b.count ? same(i + 1, i) : same(i, i + 1)
    }
}
