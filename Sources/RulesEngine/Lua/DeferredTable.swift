import CLuaHost
import Support

/// The description of a deferred table (`uiq_deferred_header` in CLuaHost.h): what a method returns instead of
/// building a table the rules may never read. Its members are written as JSON text, in key order, exactly as the
/// JSON writer would write the built table; Lua gets an empty stand-in that the method builds for real (called
/// again on the same text) the first time the rules look at it. One per Lua state, reused from call to call
/// (`reset`): its bytes live in one buffer that only grows.
final class DeferredTable {
    /// The header and the offsets come first (room for as many members as `reset` was told), the text after them.
    private static let headerSize = MemoryLayout<uiq_deferred_header>.size
    private static let maximumMembers = 64

    /// What a description in progress has written. Kept behind a pointer: the hot path reads and writes it
    /// without the exclusivity checks a class's stored properties get.
    private struct Progress {
        var buffer: UnsafeMutableRawPointer
        var capacity: Int
        /// Where the text starts, and its end.
        var textStart = 0, end = 0
        var offsets: (count: Int, values: UnsafeMutablePointer<UInt64>)
        var valueCount = 0
        var isExact = true
    }

    private let progress: UnsafeMutablePointer<Progress>

    /// JSON values written so far (each member's value and every value inside it).
    private var valueCount: Int { progress.pointee.valueCount }
    /// False once something was written that the JSON writer would write otherwise (a key that is not plain
    /// ASCII, text that is not UTF-8): the method must build its table instead.
    private var isExact: Bool { progress.pointee.isExact }

    init() {
        progress = .allocate(capacity: 1)
        progress.initialize(to: Progress(buffer: .allocate(byteCount: 4096, alignment: 8), capacity: 4096,
                                         offsets: (0, .allocate(capacity: 3 * Self.maximumMembers + 1))))
    }

    deinit {
        progress.pointee.buffer.deallocate()
        progress.pointee.offsets.values.deallocate()
        progress.deinitialize(count: 1)
        progress.deallocate()
    }

    /// Starts a description of at most `members` members (at most 64).
    func reset(members: Int) {
        let members = min(members, Self.maximumMembers)
        progress.pointee.offsets.count = 0
        progress.pointee.textStart = Self.headerSize + 3 * MemoryLayout<UInt64>.size * members
        progress.pointee.end = progress.pointee.textStart
        reserve(0)
        progress.pointee.valueCount = 0
        progress.pointee.isExact = true
    }

    private var end: Int { progress.pointee.end }
    private var textStart: Int { progress.pointee.textStart }

    private func addOffset(_ offset: Int) {
        let offsets = progress.pointee.offsets
        guard offsets.count < 3 * Self.maximumMembers + 1 else {
            progress.pointee.isExact = false
            return
        }
        offsets.values[offsets.count] = UInt64(offset)
        progress.pointee.offsets.count += 1
    }

    /// Starts a member of the table: its key (plain ASCII), then its value follows. Members come in key order.
    func member(_ key: StaticString) {
        if progress.pointee.offsets.count > 0 { addOffset(end - textStart) }  // the previous member's end
        addOffset(end - textStart)
        quoted(UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        addOffset(end - textStart)
    }

    /// A key inside a member's value given as its JSON literal (`"key"`), then `:`; its value follows. A key the
    /// JSON writer would not write itself (`isPlain` false) makes the description inexact.
    func key(literal: UnsafeRawBufferPointer, isPlain: Bool) {
        if !isPlain { progress.pointee.isExact = false }
        append(literal)
        append(UInt8(ascii: ":"))
    }

    /// A key of plain ASCII that needs no escaping (`"key":`), then its value follows.
    func key(_ key: StaticString) {
        quoted(UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        append(UInt8(ascii: ":"))
    }

    /// Punctuation: `{`, `}`, `[`, `]`, `,`; or `[]` for an empty table.
    func put(_ punctuation: StaticString) {
        append(UnsafeRawBufferPointer(start: punctuation.utf8Start, count: punctuation.utf8CodeUnitCount))
    }

    func put(_ byte: UInt8) { append(byte) }

    /// Counts a value that is a table (its members are counted as they are written).
    func countTable() { progress.pointee.valueCount += 1 }

    /// A string value: `prefix` (plain ASCII) then `bytes`, escaped as the JSON writer escapes.
    func string(_ bytes: UnsafeRawBufferPointer, after prefix: StaticString = "") {
        progress.pointee.valueCount += 1
        let prefixBytes = UnsafeRawBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
        if Self.isPlain(bytes) {
            reserve(bytes.count + prefixBytes.count + 2)
            append(UInt8(ascii: "\""))
            append(prefixBytes)
            append(bytes)
            append(UInt8(ascii: "\""))
            return
        }
        guard let base = bytes.baseAddress, uiq_is_utf8(base.assumingMemoryBound(to: UInt8.self), bytes.count) != 0 else {
            progress.pointee.isExact = false
            return
        }
        var joined = Array(prefixBytes)
        joined.append(contentsOf: bytes)
        var escaped: [UInt8] = []
        joined.withUnsafeBytes { JSONValue.encode(utf8: $0, into: &escaped) }
        escaped.withUnsafeBytes { append($0) }
    }

    /// A value already written as JSON (a name or number the method wrote once, as the JSON writer would).
    func literal(_ json: UnsafeRawBufferPointer) {
        progress.pointee.valueCount += 1
        append(json)
    }

    /// The description to return (`HostCall.returnDeferredTable`), with at most `depth` levels of tables below the
    /// table itself; valid until the next `reset`. nil when nothing was written or something was not exact.
    func finish(depth: Int) -> UnsafeRawBufferPointer? {
        guard isExact, progress.pointee.offsets.count > 0 else { return nil }
        addOffset(end - textStart)
        let offsets = progress.pointee.offsets
        guard isExact, offsets.count % 3 == 0 else { return nil }
        let offsetsSize = offsets.count * MemoryLayout<UInt64>.size
        guard Self.headerSize + offsetsSize <= textStart else { return nil }  // more members than reset said
        // The offsets end where the text starts: the header goes right before them.
        let buffer = progress.pointee.buffer
        let start = textStart - offsetsSize - Self.headerSize
        var header = uiq_deferred_header()
        header.magic = UIQ_DEFERRED_MAGIC
        header.member_count = UInt32(offsets.count / 3)
        header.value_count = UInt32(clamping: valueCount)
        header.depth = UInt32(depth)
        header.text_length = UInt64(end - textStart)
        withUnsafeBytes(of: &header) { (buffer + start).copyMemory(from: $0.baseAddress!, byteCount: Self.headerSize) }
        (buffer + start + Self.headerSize).copyMemory(from: offsets.values, byteCount: offsetsSize)
        return UnsafeRawBufferPointer(start: buffer + start, count: end - start)
    }

    // MARK: Bytes

    private func quoted(_ bytes: UnsafeRawBufferPointer) {
        reserve(bytes.count + 2)
        append(UInt8(ascii: "\""))
        append(bytes)
        append(UInt8(ascii: "\""))
    }

    @inline(__always)
    private func reserve(_ count: Int) {
        let end = progress.pointee.end, capacity = progress.pointee.capacity
        guard end + count > capacity else { return }
        var grown = capacity * 2
        while grown < end + count { grown *= 2 }
        let larger = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        larger.copyMemory(from: progress.pointee.buffer, byteCount: end)
        progress.pointee.buffer.deallocate()
        progress.pointee.buffer = larger
        progress.pointee.capacity = grown
    }

    @inline(__always)
    private func append(_ byte: UInt8) {
        reserve(1)
        progress.pointee.buffer.storeBytes(of: byte, toByteOffset: progress.pointee.end, as: UInt8.self)
        progress.pointee.end += 1
    }

    @inline(__always)
    private func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (progress.pointee.buffer + progress.pointee.end).copyMemory(from: base, byteCount: bytes.count)
        progress.pointee.end += bytes.count
    }

    /// Whether the bytes need no escaping: printable ASCII but the quote and the backslash (the JSON writer's
    /// `plain_byte`).
    @inline(__always)
    private static func isPlain(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for byte in bytes where byte &- 0x20 >= 0x60 || byte == 0x22 || byte == 0x5C { return false }
        return true
    }
}
