/// Byte strings (words) to numbers, looked up without allocating: open addressing over one pool of bytes.
/// Built once; `View` is what the hot path reads (plain pointers, valid while the table lives).
final class ByteTable: @unchecked Sendable {
    /// The table as plain pointers, for lookups.
    struct View {
        fileprivate let bytes: UnsafePointer<UInt8>
        fileprivate let starts: UnsafePointer<Int32>
        fileprivate let lengths: UnsafePointer<Int32>
        fileprivate let values: UnsafePointer<Int32>
        fileprivate let slots: UnsafePointer<Int32>
        fileprivate let mask: Int

        /// The bytes of entry `index` (entries are numbered in the order they were given, duplicates skipped).
        @inline(__always)
        func key(at index: Int32) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(start: bytes + Int(starts[Int(index)]), count: Int(lengths[Int(index)]))
        }

        /// The value stored for `key`, or nil.
        @inline(__always)
        func value(of key: UnsafeBufferPointer<UInt8>) -> Int32? {
            var slot = Int(truncatingIfNeeded: ByteTable.hash(key)) & mask
            while true {
                let entry = Int(slots[slot])
                if entry < 0 { return nil }
                if Int(lengths[entry]) == key.count && ByteTable.equal(bytes + Int(starts[entry]), key) { return values[entry] }
                slot = (slot + 1) & mask
            }
        }
    }

    private let pool: FrozenArray<UInt8>
    private let starts: FrozenArray<Int32>
    private let lengths: FrozenArray<Int32>
    private let values: FrozenArray<Int32>
    private let slots: FrozenArray<Int32>
    let view: View
    /// How many keys the table holds.
    var count: Int { starts.count }

    /// A table of these keys; a key given twice keeps its first value.
    convenience init(_ entries: [(key: [UInt8], value: Int32)]) {
        var builder = Builder(expected: entries.count)
        for (key, value) in entries { _ = key.withUnsafeBufferPointer { builder.insert($0, value: value) } }
        self.init(builder)
    }

    /// The table `builder` holds.
    init(_ builder: Builder) {
        pool = FrozenArray(builder.pool)
        starts = FrozenArray(builder.starts)
        lengths = FrozenArray(builder.lengths)
        values = FrozenArray(builder.values)
        slots = FrozenArray(builder.slots)
        view = View(bytes: pool.pointer, starts: starts.pointer, lengths: lengths.pointer,
                    values: values.pointer, slots: slots.pointer, mask: builder.slots.count - 1)
    }

    /// Builds a table one key at a time, without an array per key (a large vocabulary's deletion index has
    /// millions of keys). The slots start at least twice the expected keys and double when three quarters fill,
    /// so a table that outgrows its estimate stays compact.
    struct Builder {
        fileprivate var pool: [UInt8] = []
        fileprivate var starts: [Int32] = []
        fileprivate var lengths: [Int32] = []
        fileprivate var values: [Int32] = []
        fileprivate var slots: [Int32]

        init(expected: Int) {
            var capacity = 16
            while capacity < expected * 2 { capacity <<= 1 }
            slots = [Int32](repeating: -1, count: capacity)
        }

        /// Keys so far.
        var count: Int { starts.count }

        /// Replaces the value of entry `entry`.
        mutating func setValue(_ value: Int32, forEntry entry: Int32) { values[Int(entry)] = value }

        /// Adds `key` with `value` unless it is there: its entry number, and whether it was added.
        mutating func insert(_ key: UnsafeBufferPointer<UInt8>, value: Int32) -> (entry: Int32, inserted: Bool) {
            if (starts.count + 1) * 4 > slots.count * 3 { grow() }
            let mask = slots.count - 1
            var slot = Int(truncatingIfNeeded: ByteTable.hash(key)) & mask
            while slots[slot] >= 0 {
                let entry = Int(slots[slot])
                if Int(lengths[entry]) == key.count {
                    let start = Int(starts[entry])
                    var same = true
                    for i in 0..<key.count where pool[start + i] != key[i] {
                        same = false
                        break
                    }
                    if same { return (Int32(entry), false) }
                }
                slot = (slot + 1) & mask
            }
            let entry = Int32(starts.count)
            slots[slot] = entry
            starts.append(Int32(pool.count))
            lengths.append(Int32(key.count))
            values.append(value)
            pool.append(contentsOf: key)
            return (entry, true)
        }

        private mutating func grow() {
            let capacity = slots.count * 2, mask = capacity - 1
            var grown = [Int32](repeating: -1, count: capacity)
            pool.withUnsafeBufferPointer { bytes in
                for entry in 0..<starts.count {
                    let key = UnsafeBufferPointer(rebasing: bytes[Int(starts[entry])..<Int(starts[entry]) + Int(lengths[entry])])
                    var slot = Int(truncatingIfNeeded: ByteTable.hash(key)) & mask
                    while grown[slot] >= 0 { slot = (slot + 1) & mask }
                    grown[slot] = Int32(entry)
                }
            }
            slots = grown
        }
    }

    @inline(__always)
    static func equal(_ stored: UnsafePointer<UInt8>, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        for i in 0..<key.count where stored[i] != key[i] { return false }
        return true
    }

    /// FNV-1a, 64 bits.
    @inline(__always)
    static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }
}
