import CLuaHost

/// A Lua table a host function returns, written as the short program the C trampoline runs once Swift has
/// returned (`UIQ_PLAN_TABLE` in CLuaHost.h): values are pushed, then set into the table below them or appended
/// to it. What lets a host function hand Lua a whole breakdown in one call, built in C without a Lua API call from
/// Swift and without the rules' Lua assembling it. Reused from call to call (`reset`).
struct LuaTablePlan {
    private(set) var bytes: [UInt8] = []

    mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// Pushes a new table, sized for `array` list items and `record` named fields.
    mutating func table(array: Int = 0, record: Int = 0) {
        bytes.append(UInt8(UIQ_PLAN_TABLE))
        append(Int32(clamping: array))
        append(Int32(clamping: record))
    }

    /// Pushes a string: `prefix` (ASCII) then `text`.
    mutating func string(_ prefix: StaticString = "", bytes text: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(UIQ_PLAN_STRING))
        append(UInt32(prefix.utf8CodeUnitCount + text.count))
        bytes.append(contentsOf: UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        bytes.append(contentsOf: text)
    }

    mutating func integer(_ value: Int64) {
        bytes.append(UInt8(UIQ_PLAN_INTEGER))
        append(value)
    }

    mutating func number(_ value: Double) {
        bytes.append(UInt8(UIQ_PLAN_NUMBER))
        append(value.bitPattern)
    }

    /// Pushes a number as Lua would hold it: an integer stays one (`5`, not `5.0`, in a breakdown).
    mutating func number(_ value: LuaNumber) {
        switch value {
        case .integer(let integer): self.integer(integer)
        case .float(let float): number(float)
        }
    }

    /// Makes `constants` the plan's constant strings (`constant(_:)`); first in a plan, at most once.
    mutating func use(_ constants: LuaPlanConstants) {
        bytes.append(UInt8(UIQ_PLAN_CONSTANTS))
        append(UInt(bitPattern: constants.strings.pointer))
        append(UInt32(constants.byteCount))
        append(UInt32(constants.count))
    }

    /// Pushes constant string `index` of the plan's constants.
    mutating func constant(_ index: Int32) {
        bytes.append(UInt8(UIQ_PLAN_CONSTANT))
        append(UInt32(index))
    }

    /// Sets the value on top into the table below its key: `table[key] = value`.
    mutating func set() { bytes.append(UInt8(UIQ_PLAN_SET)) }

    /// Appends the value on top to the table below it: `table[#table + 1] = value`.
    mutating func appendToList() { bytes.append(UInt8(UIQ_PLAN_APPEND)) }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }
}
