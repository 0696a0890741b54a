/// Case-insensitive substring matching of many keywords at once, in one pass over the text.
///
/// An Aho–Corasick automaton over byte classes. The states near the root (where most bytes of a text are
/// matched) form a dense DFA: one table lookup per byte. Deeper states, which are most of the states of a large
/// keyword list, keep only their trie edges (children are numbered consecutively in breadth-first order, so a
/// state's edges are a short run of labels) and fall back along their failure links on a miss, so memory grows
/// with the keywords' total length (about 17 bytes per state), not states × byte classes: 100,000 two-word keywords
/// need about 1.5 million states and 30 MB, where a dense table would need 400 MB. Small lists are dense
/// throughout, as fast as before.
///
/// Matching follows the seed's semantics: a keyword matches when it occurs anywhere in the Python-lower-cased
/// message, no word boundaries.
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
            case .tooLarge(let states): "keyword lists too large (\(states) automaton states; at most \(KeywordAutomaton.defaultMaximumStates))"
            }
        }
    }

    /// The most states a rule set may build (about 1.7 GB): far beyond 1,000,000 keywords of two words.
    static let defaultMaximumStates = 100_000_000
    /// The dense part is at most this many bytes (and all of a small automaton is dense).
    static let denseBudgetBytes = 4 << 20

    /// Per keyword: the group it belongs to.
    let keywordGroup: [Int]
    /// Every keyword's text as the rules wrote it, one after another, at a stable address (Lua copies them);
    /// keyword i is `keywordText[keywordStart[i] ..< keywordStart[i + 1]]`.
    private let keywordText: UnsafeMutableRawBufferPointer
    private let keywordStart: [Int]
    /// Per keyword: its group's rank (0 = best group).
    private let keywordRank: [Int32]
    let groupCount: Int

    /// Byte → input class. Upper-case ASCII letters share their lower-case letter's class, so ASCII text
    /// needs no lower-casing pass. Class 0: bytes no keyword has.
    private let classOf: UnsafeMutablePointer<UInt8>      // 256 entries
    private let classCount: Int
    /// log2 of the dense row stride: rows are padded to a power of two so a state's row is `state << rowShift`.
    private let rowShift: Int
    /// States are numbered breadth first; states below `denseCount` have a full row here. Entries hold the target
    /// state, with the sign bit set when a keyword ends in the target state.
    private let dense: UnsafeMutablePointer<Int32>
    private let denseCount: Int
    private let stateCount: Int
    /// The trie edges of every state: the children of state s are states `firstChild[s] ..< firstChild[s + 1]`,
    /// and `label[c]` is the class on the edge into child c.
    private let firstChild: UnsafeMutablePointer<Int32>   // stateCount + 1
    private let label: UnsafeMutablePointer<UInt8>        // stateCount
    /// Per state: where to continue when no edge fits (the longest proper suffix that is a trie state).
    private let failure: UnsafeMutablePointer<Int32>
    /// Per state: the longest keyword ending there, or -1; the best-ranked keyword ending there, or -1.
    private let firstOutput: UnsafeMutablePointer<Int32>
    private let bestOutput: UnsafeMutablePointer<Int32>

    /// Compiles `keywords`; `groupScores[g]` ranks group g (higher first, earlier group on ties).
    /// `denseBytes` bounds the dense part (tests make it small to exercise the sparse part on small lists).
    init(keywords: [Keyword], groupScores: [Double], maxStates: Int = KeywordAutomaton.defaultMaximumStates,
         denseBytes: Int = KeywordAutomaton.denseBudgetBytes) throws(BuildError) {
        keywordGroup = keywords.map(\.group)
        groupCount = groupScores.count
        let order = groupScores.indices.sorted { a, b in
            groupScores[a] != groupScores[b] ? groupScores[a] > groupScores[b] : a < b
        }
        var rankOfGroup = [Int32](repeating: Int32.max, count: groupScores.count)
        for (rank, group) in order.enumerated() { rankOfGroup[group] = Int32(rank) }
        let keywordRank = keywords.map { $0.group < rankOfGroup.count ? rankOfGroup[$0.group] : Int32.max }
        self.keywordRank = keywordRank

        var folded: [[UInt8]] = []
        folded.reserveCapacity(keywords.count)
        var positionInGroup: [Int: Int] = [:]
        var textLength = 0
        for keyword in keywords {
            positionInGroup[keyword.group, default: 0] += 1
            let bytes = Array(CaseFolding.lowercased(keyword.text).utf8)
            guard !bytes.isEmpty else {
                throw .emptyKeyword(group: keyword.group + 1, position: positionInGroup[keyword.group]!)
            }
            folded.append(bytes)
            textLength += keyword.text.utf8.count
        }
        keywordText = .allocate(byteCount: max(textLength, 1), alignment: 1)
        var starts = [0]
        starts.reserveCapacity(keywords.count + 1)
        var offset = 0
        for keyword in keywords {
            for byte in keyword.text.utf8 {
                keywordText[offset] = byte
                offset += 1
            }
            starts.append(offset)
        }
        keywordStart = starts

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

        // The trie, with each node's children as a linked list (the root's in a table).
        var edgeHead: [Int32] = [-1]      // per node: its first child, -1 if none
        var nextSibling: [Int32] = [-1]   // per node: the next child of its parent
        var nodeLabel: [UInt8] = [0]
        var terminal: [Int32] = [-1]
        var rootChild = [Int32](repeating: -1, count: 256)
        for (index, bytes) in folded.enumerated() {
            var node: Int32 = 0
            for byte in bytes {
                let c = classOf[Int(byte)]
                var child: Int32 = node == 0 ? rootChild[Int(c)] : edgeHead[Int(node)]
                if node != 0 {
                    while child >= 0, nodeLabel[Int(child)] != c { child = nextSibling[Int(child)] }
                }
                if child < 0 {
                    child = Int32(edgeHead.count)
                    guard edgeHead.count < maxStates else { throw .tooLarge(states: edgeHead.count + 1) }
                    edgeHead.append(-1)
                    nodeLabel.append(c)
                    terminal.append(-1)
                    if node == 0 {
                        rootChild[Int(c)] = child
                        nextSibling.append(-1)
                    } else {
                        nextSibling.append(edgeHead[Int(node)])
                        edgeHead[Int(node)] = child
                    }
                }
                node = child
            }
            if terminal[Int(node)] < 0 { terminal[Int(node)] = Int32(index) }
        }
        let count = edgeHead.count
        stateCount = count

        // Breadth-first numbering: the children of a state get consecutive numbers, in label order.
        var oldOf = [Int32](repeating: 0, count: count)
        firstChild = .allocate(capacity: count + 1)
        label = .allocate(capacity: count)
        label[0] = 0
        var assigned = 1, head = 0
        var children: [Int32] = []
        while head < assigned {
            let old = Int(oldOf[head])
            firstChild[head] = Int32(assigned)
            children.removeAll(keepingCapacity: true)
            if old == 0 {
                for c in 0..<256 where rootChild[c] >= 0 { children.append(rootChild[c]) }
            } else {
                var child = edgeHead[old]
                while child >= 0 {
                    children.append(child)
                    child = nextSibling[Int(child)]
                }
                children.sort { nodeLabel[Int($0)] < nodeLabel[Int($1)] }
            }
            for child in children {
                oldOf[assigned] = child
                label[assigned] = nodeLabel[Int(child)]
                assigned += 1
            }
            head += 1
        }
        firstChild[count] = Int32(count)
        edgeHead = []
        nextSibling = []
        rootChild = []

        // How many states (a breadth-first prefix) get dense rows.
        let rowBytes = (1 << shift) * MemoryLayout<Int32>.size
        denseCount = max(1, min(count, denseBytes / rowBytes))

        // Failure links and outputs, breadth first, so every shorter suffix is done before it is needed.
        failure = .allocate(capacity: count)
        firstOutput = .allocate(capacity: count)
        bestOutput = .allocate(capacity: count)
        failure[0] = 0
        firstOutput[0] = -1
        bestOutput[0] = -1
        let firstChild = firstChild, label = label, failure = failure
        /// The trie child of `state` on class `c`, or -1.
        func child(_ state: Int, _ c: UInt8) -> Int {
            var i = Int(firstChild[state]), end = Int(firstChild[state + 1])
            if end - i > 8 {  // binary search a long run (the root, the first levels)
                while i < end {
                    let middle = (i + end) / 2
                    if label[middle] < c { i = middle + 1 } else { end = middle }
                }
                return i < Int(firstChild[state + 1]) && label[i] == c ? i : -1
            }
            while i < end {
                if label[i] == c { return i }
                i += 1
            }
            return -1
        }
        /// The automaton's move from `state` on class `c` (following failure links).
        func goto(_ state: Int, _ c: UInt8) -> Int {
            var s = state
            while true {
                let next = child(s, c)
                if next >= 0 { return next }
                if s == 0 { return 0 }
                s = Int(failure[s])
            }
        }
        // The parent of a state is the state whose run of children holds it; breadth first, its failure is known.
        var parent = 0
        for state in 1..<max(count, 1) {
            while Int(firstChild[parent + 1]) <= state { parent += 1 }
            let c = label[state]
            failure[state] = parent == 0 ? 0 : Int32(goto(Int(failure[parent]), c))
            let fail = Int(failure[state])
            let own = terminal[Int(oldOf[state])]
            firstOutput[state] = own >= 0 ? own : firstOutput[fail]
            let inherited = bestOutput[fail]
            if own >= 0, inherited < 0 || keywordRank[Int(own)] <= keywordRank[Int(inherited)] {
                bestOutput[state] = own
            } else {
                bestOutput[state] = inherited
            }
        }
        terminal = []
        oldOf = []

        // Dense rows for the first states, with the output flag.
        let stride = 1 << shift
        dense = .allocate(capacity: denseCount * stride)
        dense.initialize(repeating: 0, count: denseCount * stride)
        for state in 0..<denseCount {
            for c in 1..<classes {
                let target = goto(state, UInt8(c))
                dense[state * stride + c] = Int32(target) | (firstOutput[target] >= 0 ? Int32.min : 0)
            }
        }
    }

    deinit {
        classOf.deallocate()
        dense.deallocate()
        firstChild.deallocate()
        label.deallocate()
        failure.deallocate()
        firstOutput.deallocate()
        bestOutput.deallocate()
        keywordText.deallocate()
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
        let bestOutput = bestOutput
        scan(text) { state in
            let rank = keywordRank[Int(bestOutput[state])]
            guard rank < foundRank else { return true }
            foundState = state
            foundRank = rank
            return rank != 0  // nothing can beat the best group
        }
        return foundState >= 0 ? Int(bestOutput[foundState]) : nil
    }

    /// The keyword's text as the rules wrote it, at a stable address.
    func bytes(ofKeyword index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: keywordText[keywordStart[index]..<keywordStart[index + 1]])
    }

    /// States in all, and how many have dense rows (for tests and the benchmark).
    var shape: (states: Int, dense: Int, bytes: Int) {
        let bytes = denseCount << rowShift * 4 + stateCount * 17 + keywordText.count + 256
        return (stateCount, denseCount, bytes)
    }

    /// Runs the automaton over the lower-cased text; `visit` sees each state in which a keyword ends and returns
    /// false to stop.
    @inline(__always)
    private func scan(_ text: UnsafeRawBufferPointer, _ visit: (Int) -> Bool) {
        guard let base = text.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        let end = base + text.count
        var cursor = base
        var state = 0
        while cursor < end {
            if runASCII(&cursor, end, &state) {
                if !visit(state) { return }
                continue
            }
            guard cursor < end else { return }
            // A non-ASCII run goes through Unicode lower-casing.
            var runEnd = cursor + 1
            while runEnd < end, runEnd.pointee >= 0x80 { runEnd += 1 }
            var stopped = false
            CaseFolding.forEachLoweredByte(UnsafeRawBufferPointer(start: cursor, count: runEnd - cursor)) { lowered in
                state = step(state, classOf[Int(lowered)])
                if firstOutput[state] >= 0, !visit(state) { stopped = true; return false }
                return true
            }
            if stopped { return }
            cursor = runEnd
        }
    }

    /// The move from `state` on class `c`: a table lookup in the dense part; elsewhere the state's edges, then its
    /// failure links until one fits or the dense part is reached.
    @inline(__always)
    private func step(_ state: Int, _ c: UInt8) -> Int {
        var s = state
        while s >= denseCount {
            var i = Int(firstChild[s])
            let end = Int(firstChild[s + 1])
            while i < end {
                if label[i] == c { return i }
                i += 1
            }
            s = Int(failure[s])
        }
        return Int(dense[s &<< rowShift &+ Int(c)] & Int32.max)
    }

    /// The hot loop: steps over ASCII bytes until a keyword ends (true, cursor after that byte), a non-ASCII
    /// byte comes (false, cursor on it) or the text ends (false). Upper-case letters share their lower-case
    /// class, so no folding is needed here.
    @inline(__always)
    private func runASCII(_ cursor: inout UnsafePointer<UInt8>, _ end: UnsafePointer<UInt8>, _ state: inout Int) -> Bool {
        var position = cursor
        var current = state
        defer {
            cursor = position
            state = current
        }
        let dense = dense, classOf = classOf, shift = rowShift, denseCount = denseCount
        while position < end {
            let byte = position.pointee
            if byte >= 0x80 { return false }
            position += 1
            let c = classOf[Int(byte)]
            if current < denseCount {
                let target = dense[current &<< shift &+ Int(c)]
                current = Int(target & Int32.max)
                if target < 0 { return true }
            } else {
                current = step(current, c)
                if firstOutput[current] >= 0 { return true }
            }
        }
        return false
    }
}
