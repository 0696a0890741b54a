/// Strings a host function's tables name on every call (keys, names, labels), laid out once for table plans:
/// the receiver keeps them as Lua strings after the first call (`UIQ_PLAN_CONSTANTS`). Immutable, so one set
/// serves every Lua state and thread.
final class LuaPlanConstants: Sendable {
    /// Each string as its uint32 length and its bytes, in order.
    let strings: FrozenArray<UInt8>
    let byteCount: Int
    let count: Int
    /// Where each string's bytes start in `strings`, and where the last ends (count + 1 offsets).
    private let starts: FrozenArray<Int>

    init(_ texts: [String]) {
        var bytes: [UInt8] = []
        var starts: [Int] = []
        for text in texts {
            withUnsafeBytes(of: UInt32(text.utf8.count)) { bytes.append(contentsOf: $0) }
            starts.append(bytes.count)
            bytes.append(contentsOf: text.utf8)
        }
        starts.append(bytes.count + MemoryLayout<UInt32>.size)
        strings = FrozenArray(bytes)
        byteCount = bytes.count
        count = texts.count
        self.starts = FrozenArray(starts)
    }

    /// The bytes of string `index` (valid as long as the constants).
    func text(_ index: Int32) -> UnsafeRawBufferPointer {
        let start = starts.pointer[Int(index)], end = starts.pointer[Int(index) + 1] - MemoryLayout<UInt32>.size
        return UnsafeRawBufferPointer(start: strings.pointer + start, count: end - start)
    }
}
