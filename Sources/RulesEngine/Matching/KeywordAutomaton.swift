/// Case-insensitive substring matching of many keywords at once, in one pass over the text.
///
/// An Aho–Corasick automaton compiled to a dense DFA over byte classes: one table lookup per byte of the
/// lower-cased text, whatever the number of keywords. Matching follows the seed's semantics: a keyword
/// matches when it occurs anywhere in the Python-lower-cased message, no word boundaries.
///
/// Keywords belong to groups (tiers) ranked by score: `best(in:)` finds the best-ranked group any keyword of
/// which occurs, `first(in:)` the keyword whose occurrence ends first. Immutable once built, so one automaton
/// serves every Lua state of a rule set.
final class KeywordAutomaton: HostObject, @unchecked Sendable {
    /// A keyword as the rules wrote it, and the group it belongs to.
    struct Keyword {
        var text: String
        var group: Int
    }

    enum BuildError: Error, CustomStringConvertible {
        case emptyKeyword(group: Int, position: Int)
        case tooLarge(states: Int)

        var description: String {
            switch self {
            case .emptyKeyword(let group, let position):
                "keyword \(position) of group \(group) is empty (an empty keyword would match every message)"
            case .tooLarge(let states): "keyword lists too large (\(states) automaton states)"
            }
        }
    }

    let keywords: [Keyword]
    /// Per keyword: its text's UTF-8 bytes, kept at a stable address so Lua can copy them.
    private let keywordBytes: [UnsafeMutableRawBufferPointer]
    /// Per keyword: its group's rank (0 = best group).
    private let keywordRank: [Int32]
    let groupCount: Int

    /// Byte → input class. Upper-case ASCII letters share their lower-case letter's class, so ASCII text
    /// needs no lower-casing pass.
    private let classOf: UnsafeMutablePointer<UInt8>      // 256 entries
    private let classCount: Int
    /// log2 of the row stride: rows are padded to a power of two so a state's row is `state << rowShift`.
    private let rowShift: Int
    /// The DFA, one row per state. Entries hold the target state, with the sign bit set when a keyword ends
    /// in the target state: a step is a shift, an add and a load, and a match a sign test.
    private let transitions: UnsafeMutablePointer<Int32>
    private let stateCount: Int
    /// Per state: the longest keyword ending there, or -1.
    private let firstOutput: UnsafeMutablePointer<Int32>
    /// Per state: the best-ranked keyword ending there, or -1; and that keyword's rank (Int32.max if none).
    private let bestOutput: UnsafeMutablePointer<Int32>
    private let bestRank: UnsafeMutablePointer<Int32>

    /// Compiles `keywords`; `groupScores[g]` ranks group g (higher first, earlier group on ties).
    init(keywords: [Keyword], groupScores: [Double], maxStates: Int = 1 << 20) throws(BuildError) {
        self.keywords = keywords
        groupCount = groupScores.count
        let order = groupScores.indices.sorted { a, b in
            groupScores[a] != groupScores[b] ? groupScores[a] > groupScores[b] : a < b
        }
        var rankOfGroup = [Int32](repeating: Int32.max, count: groupScores.count)
        for (rank, group) in order.enumerated() { rankOfGroup[group] = Int32(rank) }
        keywordRank = keywords.map { $0.group < rankOfGroup.count ? rankOfGroup[$0.group] : Int32.max }

        var folded: [[UInt8]] = []
        var positionInGroup: [Int: Int] = [:]
        for keyword in keywords {
            positionInGroup[keyword.group, default: 0] += 1
            let bytes = Array(CaseFolding.lowercased(keyword.text).utf8)
            guard !bytes.isEmpty else {
                throw .emptyKeyword(group: keyword.group + 1, position: positionInGroup[keyword.group]!)
            }
            folded.append(bytes)
        }
        keywordBytes = keywords.map { keyword in
            let utf8 = Array(keyword.text.utf8)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(utf8.count, 1), alignment: 1)
            buffer.copyBytes(from: utf8)
            return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<utf8.count])
        }

        // Byte classes: every byte that occurs in a keyword gets its own class; all others share class 0.
        classOf = .allocate(capacity: 256)
        classOf.initialize(repeating: 0, count: 256)
        var classes = 1
        for bytes in folded {
            for byte in bytes where classOf[Int(byte)] == 0 {
                classOf[Int(byte)] = UInt8(classes)
                classes += 1
            }
        }
        classCount = classes
        var shift = 0
        while 1 << shift < classes { shift += 1 }
        rowShift = shift
        for upper in UInt8(ascii: "A")...UInt8(ascii: "Z") { classOf[Int(upper)] = classOf[Int(upper + 32)] }

        // The trie.
        var goto: [[Int32]] = [[Int32](repeating: -1, count: classes)]
        var terminal: [Int32] = [-1]
        for (index, bytes) in folded.enumerated() {
            var state = 0
            for byte in bytes {
                let c = Int(classOf[Int(byte)])
                if goto[state][c] < 0 {
                    goto.append([Int32](repeating: -1, count: classes))
                    terminal.append(-1)
                    goto[state][c] = Int32(goto.count - 1)
                    guard goto.count <= maxStates else { throw .tooLarge(states: goto.count) }
                }
                state = Int(goto[state][c])
            }
            if terminal[state] < 0 { terminal[state] = Int32(index) }
        }
        stateCount = goto.count

        // Failure links in breadth-first order turn the trie into a complete DFA.
        let transitions = UnsafeMutablePointer<Int32>.allocate(capacity: stateCount * classes)
        firstOutput = .allocate(capacity: stateCount)
        bestOutput = .allocate(capacity: stateCount)
        bestRank = .allocate(capacity: stateCount)
        var failure = [Int](repeating: 0, count: stateCount)
        var queue: [Int] = []
        for c in 0..<classes {
            let next = goto[0][c]
            transitions[c] = next < 0 ? 0 : next
            if next > 0 { queue.append(Int(next)) }
        }
        firstOutput[0] = -1
        bestOutput[0] = -1
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            let fail = failure[state]
            let own = terminal[state]
            firstOutput[state] = own >= 0 ? own : firstOutput[fail]
            let inherited = bestOutput[fail]
            if own >= 0, inherited < 0 || keywordRank[Int(own)] <= keywordRank[Int(inherited)] {
                bestOutput[state] = own
            } else {
                bestOutput[state] = inherited
            }
            for c in 0..<classes {
                let next = goto[state][c]
                if next >= 0 {
                    failure[Int(next)] = Int(transitions[fail * classes + c])
                    transitions[state * classes + c] = next
                    queue.append(Int(next))
                } else {
                    transitions[state * classes + c] = transitions[fail * classes + c]
                }
            }
        }
        for state in 0..<stateCount {
            bestRank[state] = bestOutput[state] >= 0 ? keywordRank[Int(bestOutput[state])] : Int32.max
        }
        // Re-lay the table with power-of-two rows and output flags.
        let table = UnsafeMutablePointer<Int32>.allocate(capacity: stateCount << shift)
        table.initialize(repeating: 0, count: stateCount << shift)
        for state in 0..<stateCount {
            for c in 0..<classes {
                let target = Int(transitions[state * classes + c])
                table[state << shift + c] = Int32(target) | (firstOutput[target] >= 0 ? Int32.min : 0)
            }
        }
        transitions.deallocate()
        self.transitions = table
    }

    deinit {
        classOf.deallocate()
        transitions.deallocate()
        firstOutput.deallocate()
        bestOutput.deallocate()
        bestRank.deallocate()
        for buffer in keywordBytes { buffer.deallocate() }
    }

    /// The keyword (index) whose occurrence ends first in `text`; the longest one when several end there.
    func first(in text: UnsafeRawBufferPointer) -> Int? {
        var found: Int32 = -1
        scan(text) { state in
            found = firstOutput[state]
            return false
        }
        return found >= 0 ? Int(found) : nil
    }

    /// The best-ranked keyword (index) occurring in `text`: from the best-ranked group that has any, and of
    /// that group the occurrence ending first.
    func best(in text: UnsafeRawBufferPointer) -> Int? {
        var foundState = -1
        var foundRank = Int32.max
        let bestRank = bestRank
        scan(text) { state in
            let rank = bestRank[state]
            guard rank < foundRank else { return true }
            foundState = state
            foundRank = rank
            return rank != 0  // nothing can beat the best group
        }
        return foundState >= 0 ? Int(bestOutput[foundState]) : nil
    }

    /// The keyword's text as the rules wrote it, at a stable address.
    func bytes(ofKeyword index: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(keywordBytes[index]) }

    /// Runs the DFA over the lower-cased text; `visit` sees each state in which a keyword ends and returns
    /// false to stop.
    @inline(__always)
    private func scan(_ text: UnsafeRawBufferPointer, _ visit: (Int) -> Bool) {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let end = base + text.count
        var cursor = base
        var state = 0
        while cursor < end {
            if KeywordAutomaton.runASCII(transitions, classOf, rowShift, &cursor, end, &state) {
                if !visit(state) { return }
                continue
            }
            guard cursor < end else { return }
            // A non-ASCII run goes through Unicode lower-casing.
            var runEnd = cursor + 1
            while runEnd < end, runEnd.pointee >= 0x80 { runEnd += 1 }
            var stopped = false
            let transitions = transitions, classOf = classOf, shift = rowShift
            CaseFolding.forEachLoweredByte(UnsafeRawBufferPointer(start: cursor, count: runEnd - cursor)) { lowered in
                let target = transitions[state &<< shift &+ Int(classOf[Int(lowered)])]
                state = Int(target & Int32.max)
                if target < 0, !visit(state) { stopped = true; return false }
                return true
            }
            if stopped { return }
            cursor = runEnd
        }
    }

    /// The hot loop: steps over ASCII bytes until a keyword ends (true, cursor after that byte), a non-ASCII
    /// byte comes (false, cursor on it) or the text ends (false). Upper-case letters share their lower-case
    /// class, so no folding is needed here.
    @inline(never)
    private static func runASCII(_ transitions: UnsafeMutablePointer<Int32>, _ classOf: UnsafeMutablePointer<UInt8>,
                                 _ shift: Int, _ cursor: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>,
                                 _ state: inout Int) -> Bool {
        var position = cursor
        var current = state
        defer {
            cursor = position
            state = current
        }
        while position < end {
            let byte = position.pointee
            if byte >= 0x80 { return false }
            let target = transitions[current &<< shift &+ Int(classOf[Int(byte)])]
            current = Int(target & Int32.max)
            position += 1
            if target < 0 { return true }
        }
        return false
    }
}
