/// Strings a host function's tables name on every call (keys, names, labels), laid out once for table plans:
/// the receiver keeps them as Lua strings after the first call (`UIQ_PLAN_CONSTANTS`). Immutable, so one set
/// serves every Lua state and thread.
final class LuaPlanConstants: Sendable {
    /// Each string as its uint32 length and its bytes, in order.
    let strings: FrozenArray<UInt8>
    let byteCount: Int
    let count: Int

    init(_ texts: [String]) {
        var bytes: [UInt8] = []
        for text in texts {
            withUnsafeBytes(of: UInt32(text.utf8.count)) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: text.utf8)
        }
        strings = FrozenArray(bytes)
        byteCount = bytes.count
        count = texts.count
    }
}
