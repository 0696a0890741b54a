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
    init(_ entries: [(key: [UInt8], value: Int32)]) {
        var pool: [UInt8] = [], starts: [Int32] = [], lengths: [Int32] = [], values: [Int32] = []
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        for (key, value) in entries {
            var slot = Int(truncatingIfNeeded: key.withUnsafeBufferPointer(ByteTable.hash)) & mask
            var duplicate = false
            while slots[slot] >= 0 {
                let entry = Int(slots[slot])
                if Int(lengths[entry]) == key.count && pool[Int(starts[entry])..<Int(starts[entry]) + key.count].elementsEqual(key) {
                    duplicate = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if duplicate { continue }
            slots[slot] = Int32(starts.count)
            starts.append(Int32(pool.count))
            lengths.append(Int32(key.count))
            values.append(value)
            pool.append(contentsOf: key)
        }
        self.pool = FrozenArray(pool)
        self.starts = FrozenArray(starts)
        self.lengths = FrozenArray(lengths)
        self.values = FrozenArray(values)
        self.slots = FrozenArray(slots)
        view = View(bytes: self.pool.pointer, starts: self.starts.pointer, lengths: self.lengths.pointer,
                    values: self.values.pointer, slots: self.slots.pointer, mask: mask)
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
