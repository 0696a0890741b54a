import CLua
import CLuaHost
import Support

/// Writes the breakdown table a rule returned as JSON text, without a `JSONValue` tree: the same text
/// `LuaStack.json(at:)` followed by `JSONValue.encode(into:)` gives (lists found the same way, keys named and
/// sorted the same way, a later duplicate key winning, the same depth and value budget). The C writer
/// (`uiq_json_write`) does the work; what it leaves to the host (keys that are not plain ASCII, text that is not
/// UTF-8) goes the `JSONValue` way. One per rule VM; its buffers are reused from message to message.
final class LuaJSONWriter {
    private let native: OpaquePointer?
    /// How many values went the `JSONValue` way (for tests).
    private(set) var valuesPathCount = 0
    /// How many breakdowns had their deferred tables built to be written (for tests).
    private(set) var deferredTablesBuilt = 0
    /// How many deferred tables were written from their text, never built (for tests).
    var deferredTablesWritten: UInt64 { native.map { UInt64(uiq_json_deferred_written($0)) } ?? 0 }

    /// The most values a breakdown may have, as for `LuaStack.json(at:)`.
    static let valueBudget = 10_000

    init() { native = uiq_json_writer_new(formatDouble) }

    deinit { uiq_json_writer_free(native) }

    /// The value at `index` as a breakdown's members: a table that is an object gives its members; `nil` gives
    /// none; any other value (a list, a string…) becomes the one member `explanation`.
    func breakdown(_ raw: OpaquePointer, at index: Int32) -> JSONObjectText {
        let index = lua_absindex(raw, index)
        if lua_type(raw, index) <= LUA_TNIL { return JSONObjectText(members: []) }
        guard let native else { return valuesPath(raw, at: index) }
        var status = uiq_json_write(native, raw, index, Int32(Self.valueBudget))
        if status == UIQ_JSON_NEEDS_BUILDING {
            // A deferred table the text cannot stand for here (too deep, past the budget): build them all.
            deferredTablesBuilt += 1
            status = uiq_deferred_build_all(raw, index) == LUA_OK
                ? uiq_json_write(native, raw, index, Int32(Self.valueBudget)) : UIQ_JSON_NEEDS_HOST
        }
        guard status == UIQ_JSON_OK else { return valuesPath(raw, at: index) }
        var length = 0, count = 0
        guard let text = uiq_json_text(native, &length) else { return valuesPath(raw, at: index) }
        let bytes = UnsafeRawBufferPointer(start: text, count: length)
        guard bytes.first == UInt8(ascii: "{") else { return JSONObjectText(key: "explanation", valueText: bytes) }
        let offsets = UnsafeBufferPointer(start: uiq_json_top_members(native, &count), count: 3 * count)
        let members = (0..<count).map { i in
            JSONObjectText.Member(start: offsets[3 * i], keyEnd: offsets[3 * i + 1], end: offsets[3 * i + 2])
        }
        return JSONObjectText(bytes: Array(bytes), members: members)
    }

    /// The value converted to `JSONValue`s, then written: for what the C writer leaves to the host.
    private func valuesPath(_ raw: OpaquePointer, at index: Int32) -> JSONObjectText {
        valuesPathCount += 1
        var budget = Self.valueBudget
        switch LuaStack(raw).json(at: index, budget: &budget) {
        case .object(let object):
            return JSONObjectText(members: object.keys.sorted().map { ($0, object[$0]!) })
        case .null:
            return JSONObjectText(members: [])
        case let other:
            return JSONObjectText(members: [("explanation", other)])
        }
    }
}

/// Writes a float as JSON numbers are written (`JSONNumberText`), for the C writer.
private let formatDouble: uiq_format_double_fn = { value, buffer, capacity in
    guard let buffer else { return 0 }
    let target = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self)
    if capacity >= JSONNumberText.maximumLength { return JSONNumberText.write(value, into: target) }
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: JSONNumberText.maximumLength) { scratch in
        let count = min(JSONNumberText.write(value, into: scratch.baseAddress!), capacity)
        target.update(from: scratch.baseAddress!, count: count)
        return count
    }
}
