import CLua
import CLuaHost
import Support

/// A non-owning view of a Lua stack that only reads, with API calls that can never raise a Lua error:
/// strings are read only when they are strings (never converted), tables only with raw access.
struct LuaStack {
    let raw: OpaquePointer

    init(_ raw: OpaquePointer) { self.raw = raw }

    var top: Int32 { lua_gettop(raw) }

    func type(at index: Int32) -> Int32 { lua_type(raw, index) }

    func isNoneOrNil(at index: Int32) -> Bool { lua_type(raw, index) <= LUA_TNIL }

    /// The bytes of a string value (valid while the value stays on the stack), or nil for any other type.
    func bytes(at index: Int32) -> UnsafeRawBufferPointer? {
        guard lua_type(raw, index) == LUA_TSTRING else { return nil }
        var length = 0
        guard let chars = lua_tolstring(raw, index, &length) else { return nil }
        return UnsafeRawBufferPointer(start: chars, count: length)
    }

    /// A string value decoded as UTF-8 (invalid bytes become U+FFFD), or nil for any other type.
    func string(at index: Int32) -> String? {
        guard let bytes = bytes(at: index) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A number value, or nil for any other type (strings are not converted).
    func number(at index: Int32) -> Double? {
        guard lua_type(raw, index) == LUA_TNUMBER else { return nil }
        return lua_tonumberx(raw, index, nil)
    }

    /// An integer-valued number, or nil.
    func integer(at index: Int32) -> Int64? {
        guard lua_type(raw, index) == LUA_TNUMBER else { return nil }
        var isInteger: Int32 = 0
        let value = lua_tointegerx(raw, index, &isInteger)
        return isInteger != 0 ? Int64(value) : nil
    }

    func boolean(at index: Int32) -> Bool { lua_toboolean(raw, index) != 0 }

    /// The host object behind a userdata of `type`, or nil when the value is anything else.
    func object<T: HostObject>(at index: Int32, type: HostObjectType, as _: T.Type) -> T? {
        guard let pointer = uiq_to_object(raw, index, type.rawValue) else { return nil }
        return Unmanaged<HostObject>.fromOpaque(pointer).takeUnretainedValue() as? T
    }

    /// `#t` without metamethods.
    func rawLength(at index: Int32) -> Int { Int(lua_rawlen(raw, index)) }

    /// Pushes `table[key]` (raw), hands its index to `body`, pops it.
    func withField<R>(of table: Int32, _ key: Int, _ body: (Int32) -> R) -> R {
        let table = lua_absindex(raw, table)
        lua_rawgeti(raw, table, lua_Integer(key))
        defer { lua_settop(raw, -2) }
        return body(-1)
    }

    /// Text for an error object without calling `__tostring` (which could run rule code outside protection).
    func errorText(at index: Int32) -> String {
        switch lua_type(raw, index) {
        case LUA_TSTRING: return string(at: index) ?? ""
        case LUA_TNUMBER: return JSONValue.format(number: number(at: index) ?? 0)
        case LUA_TNIL: return "error object is nil"
        default: return "error object is a \(String(cString: lua_typename(raw, lua_type(raw, index)))) value"
        }
    }

    /// Converts a value to JSON: tables with keys 1...n (and empty tables) become arrays, other tables
    /// objects (keys as text); functions, userdata and cycles become descriptive strings. Bounded in depth
    /// and size.
    func json(at index: Int32, depth: Int = 0, budget: inout Int) -> JSONValue {
        budget -= 1
        switch lua_type(raw, index) {
        case LUA_TNIL, LUA_TNONE: return .null
        case LUA_TBOOLEAN: return .bool(boolean(at: index))
        case LUA_TNUMBER:
            if lua_isinteger(raw, index) != 0 { return .integer(Int64(lua_tointegerx(raw, index, nil))) }
            return .number(number(at: index) ?? 0)
        case LUA_TSTRING: return .string(string(at: index) ?? "")
        case LUA_TTABLE:
            guard depth < 16, budget > 0, lua_checkstack(raw, 3) != 0 else { return .string("(table too deep)") }
            return table(at: lua_absindex(raw, index), depth: depth, budget: &budget)
        default:
            return .string("(\(String(cString: lua_typename(raw, lua_type(raw, index)))))")
        }
    }

    private func table(at index: Int32, depth: Int, budget: inout Int) -> JSONValue {
        // A deferred table is read as the table it stands for (when it cannot be built, out of memory, as it is).
        if uiq_deferred_pending(raw, index) != 0 { _ = uiq_deferred_build(raw, index) }
        // A list: keys exactly 1...n (n keys in all, each of 1...n present), read in order by index.
        let length = lua_rawlen(raw, index)
        let keys = keyCount(at: index, atMost: max(budget, 1))
        if length > 0, length <= UInt64(Int32.max) {
            if keys == Int(length), isSequence(at: index, length: Int(length)) {
                var items: [JSONValue] = []
                items.reserveCapacity(Int(length))
                for position in 1...Int(length) where budget > 0 {
                    lua_rawgeti(raw, index, lua_Integer(position))
                    items.append(json(at: -1, depth: depth + 1, budget: &budget))
                    lua_settop(raw, -2)
                }
                return .array(items)
            }
        }
        var object = [String: JSONValue](minimumCapacity: keys)
        var sawKey = false
        lua_pushnil(raw)
        while lua_next(raw, index) != 0 {
            defer { lua_settop(raw, -2) }
            sawKey = true
            guard budget > 0 else { continue }
            let key: String
            if let integer = integer(at: -2) {
                key = String(integer)
            } else if let text = string(at: -2) {
                key = text
            } else if let number = number(at: -2) {
                key = JSONValue.format(number: number)
            } else {
                key = "(\(String(cString: lua_typename(raw, lua_type(raw, -2)))))"
            }
            object[key] = json(at: -1, depth: depth + 1, budget: &budget)
        }
        return sawKey ? .object(object) : .array([])  // an empty table is most often an empty list
    }

    /// How many keys the table has, counting no further than `limit`. (`next` walks the array part, then the hash
    /// nodes in node order, so only a walk from the start sees every key.)
    private func keyCount(at index: Int32, atMost limit: Int) -> Int {
        var count = 0
        lua_pushnil(raw)
        while lua_next(raw, index) != 0 {
            count += 1
            if count >= limit {
                lua_settop(raw, -3)  // the key and the value
                return count
            }
            lua_settop(raw, -2)  // the value; the key stays for the next step
        }
        return count
    }

    /// Whether keys 1...length are all present (a border `#t` may report past a hole in the array part).
    private func isSequence(at index: Int32, length: Int) -> Bool {
        for position in 1...length {
            let present = lua_rawgeti(raw, index, lua_Integer(position)) != LUA_TNIL
            lua_settop(raw, -2)
            if !present { return false }
        }
        return true
    }
}
