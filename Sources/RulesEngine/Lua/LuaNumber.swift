/// A number as the rules wrote it: Lua keeps integers and floats apart, and so does JSON output (`5` or `5.0`).
enum LuaNumber: Equatable, Sendable {
    case integer(Int64)
    case float(Double)
}
