/// The lexicon's phrases as a trie over atoms (a vocabulary word, or a wildcard pattern a word satisfies),
/// so that every phrase starting at a word is found in one walk, however many phrases share a first word.
/// A `...` in a phrase is an edge of its own that skips up to three words. Built once, read through pointers.
final class PhraseTrie: @unchecked Sendable {
    /// One step of a phrase.
    enum Step: Hashable {
        case atom(Int32)
        /// Up to this many words of anything.
        case gap(Int)
    }

    /// The trie as plain pointers, for the hot path.
    struct View {
        /// Open addressing, key and child side by side (one cache line per probe): slot i is 2i (key), 2i+1 (child).
        fileprivate let edges: UnsafePointer<UInt64>
        fileprivate let edgeMask: Int
        fileprivate let edgeShift: Int
        fileprivate let gapChild: UnsafePointer<Int32>
        fileprivate let gapLength: UnsafePointer<Int32>
        fileprivate let terminalStart: UnsafePointer<Int32>
        fileprivate let terminalCount: UnsafePointer<Int32>
        fileprivate let terminals: UnsafePointer<Int32>

        static let root: Int32 = 0

        /// The node reached from `node` by a word satisfying `atom`, or -1.
        @inline(__always)
        func child(_ node: Int32, _ atom: Int32) -> Int32 {
            let key = PhraseTrie.key(node, atom)
            var slot = PhraseTrie.slot(key, shift: edgeShift)
            while true {
                let stored = edges[2 &* slot]
                if stored == key { return Int32(truncatingIfNeeded: edges[2 &* slot &+ 1]) }
                if stored == PhraseTrie.emptyKey { return -1 }
                slot = (slot + 1) & edgeMask
            }
        }

        /// The node after a `...` from `node` and how many words it may skip, or (-1, 0).
        @inline(__always)
        func gap(_ node: Int32) -> (child: Int32, most: Int) { (gapChild[Int(node)], Int(gapLength[Int(node)])) }

        /// The meanings of the phrases that end at `node`.
        @inline(__always)
        func meanings(_ node: Int32) -> UnsafeBufferPointer<Int32> {
            UnsafeBufferPointer(start: terminals + Int(terminalStart[Int(node)]), count: Int(terminalCount[Int(node)]))
        }
    }

    private let storage: [AnyObject]
    let view: View
    let nodeCount: Int

    fileprivate static let emptyKey = UInt64.max

    @inline(__always)
    fileprivate static func key(_ node: Int32, _ atom: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: node)) << 32 | UInt64(UInt32(bitPattern: atom))
    }

    /// Fibonacci hashing: the top bits of the product (`shift` = 64 - log2(capacity)) depend on every bit of the key.
    @inline(__always)
    fileprivate static func slot(_ key: UInt64, shift: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> UInt64(shift))
    }

    /// A trie of these phrases, each with its meaning (a number the lexicon gives meaning to).
    init(_ phrases: [(steps: [Step], meaning: Int32)]) {
        var edges: [UInt64: Int32] = [:]
        var gapChild: [Int32] = [-1], gapLength: [Int32] = [0]
        var terminalLists: [[Int32]] = [[]]
        func newNode() -> Int32 {
            gapChild.append(-1)
            gapLength.append(0)
            terminalLists.append([])
            return Int32(gapChild.count - 1)
        }
        for (steps, meaning) in phrases {
            var node: Int32 = 0
            for step in steps {
                switch step {
                case .atom(let atom):
                    let key = PhraseTrie.key(node, atom)
                    if let next = edges[key] { node = next } else {
                        let next = newNode()
                        edges[key] = next
                        node = next
                    }
                case .gap(let most):
                    if gapChild[Int(node)] < 0 {
                        let next = newNode()
                        gapChild[Int(node)] = next
                    }
                    gapLength[Int(node)] = max(gapLength[Int(node)], Int32(most))
                    node = gapChild[Int(node)]
                }
            }
            if !terminalLists[Int(node)].contains(meaning) { terminalLists[Int(node)].append(meaning) }
        }
        var capacity = 16, bits = 4
        while capacity < edges.count * 2 { capacity <<= 1; bits += 1 }
        var table = [UInt64](repeating: PhraseTrie.emptyKey, count: 2 * capacity)
        for (key, child) in edges {
            var slot = PhraseTrie.slot(key, shift: 64 - bits)
            while table[2 * slot] != PhraseTrie.emptyKey { slot = (slot + 1) & (capacity - 1) }
            table[2 * slot] = key
            table[2 * slot + 1] = UInt64(UInt32(bitPattern: child))
        }
        var starts: [Int32] = [], counts: [Int32] = [], flat: [Int32] = []
        for list in terminalLists {
            starts.append(Int32(flat.count))
            counts.append(Int32(list.count))
            flat.append(contentsOf: list)
        }
        let frozenEdges = FrozenArray(table)
        let frozenGapChild = FrozenArray(gapChild), frozenGapLength = FrozenArray(gapLength)
        let frozenStarts = FrozenArray(starts), frozenCounts = FrozenArray(counts), frozenFlat = FrozenArray(flat)
        storage = [frozenEdges, frozenGapChild, frozenGapLength, frozenStarts, frozenCounts, frozenFlat]
        nodeCount = gapChild.count
        view = View(edges: frozenEdges.pointer, edgeMask: capacity - 1, edgeShift: 64 - bits,
                    gapChild: frozenGapChild.pointer, gapLength: frozenGapLength.pointer,
                    terminalStart: frozenStarts.pointer, terminalCount: frozenCounts.pointer, terminals: frozenFlat.pointer)
    }
}
