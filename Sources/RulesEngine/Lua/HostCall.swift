import CLua
import CLuaHost

/// One call from Lua into a Swift host function: its arguments (read-only, never raising) and its results.
///
/// Host functions never raise Lua errors themselves: they return `.failure` with a message and the C
/// trampoline raises it after Swift has returned.
struct HostCall {
    private let call: UnsafeMutablePointer<uiq_call>

    init(_ call: UnsafeMutablePointer<uiq_call>) { self.call = call }

    /// The arguments, at stack indices 1...argumentCount.
    var arguments: LuaStack { LuaStack(call.pointee.L) }
    var argumentCount: Int32 { lua_gettop(call.pointee.L) }

    /// The message text being scored, when the evaluation pinned it: known to be valid UTF-8.
    var trustedText: UnsafeRawPointer? { UnsafeRawPointer(uiq_host_of(call.pointee.L).pointee.trusted_text) }

    /// The context object the function was registered with.
    func context<T: AnyObject>(as _: T.Type) -> T {
        Unmanaged<T>.fromOpaque(call.pointee.context!).takeUnretainedValue()
    }

    /// Runs `body` with the context object, without retaining it (the hot path of methods).
    @inline(__always)
    func withContext<T: AnyObject, R>(as _: T.Type, _ body: (T) -> R) -> R {
        Unmanaged<T>.fromOpaque(call.pointee.context!)._withUnsafeGuaranteedRef(body)
    }

    /// Methods only: runs `body` with the receiver, which the trampoline checked to be of the method's type.
    @inline(__always)
    func withReceiver<T: HostObject, R>(as _: T.Type, _ body: (T) -> R) -> R {
        Unmanaged<T>.fromOpaque(call.pointee.self_object!)._withUnsafeGuaranteedRef(body)
    }

    /// Methods only: the text argument (checked to be a string by the trampoline).
    var text: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: call.pointee.text, count: call.pointee.text_length)
    }

    /// Methods only: whether the text argument is the pinned message text (known valid UTF-8).
    var textIsTrusted: Bool { call.pointee.text_trusted != 0 }

    /// Methods only: whether the text argument is all ASCII.
    var textIsASCII: Bool { call.pointee.text_ascii != 0 }

    func returnNil() { uiq_return_nil(call) }
    func returnBoolean(_ value: Bool) { uiq_return_boolean(call, value ? 1 : 0) }
    func returnInteger(_ value: Int) { uiq_return_integer(call, Int64(value)) }
    func returnNumber(_ value: Double) { uiq_return_number(call, value) }

    /// Returns bytes that stay alive until the host function returns (an argument, or host-owned storage).
    func returnString(_ bytes: UnsafeRawBufferPointer) {
        uiq_return_string(call, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    /// Returns the table `plan` builds; its bytes are copied into `arena` until the trampoline has run it.
    func returnTable(_ plan: LuaTablePlan, in arena: ReturnArena) {
        let bytes = arena.copy(bytes: plan.bytes)
        uiq_return_table(call, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    /// Whether a method may return a deferred table now (`returnDeferredTable`): not while one is being built.
    var mayDefer: Bool { uiq_may_defer(call.pointee.L) != 0 }

    /// Methods only: returns a deferred table (see `DeferredTable`) whose description stays valid until the
    /// trampoline has run.
    func returnDeferredTable(_ description: UnsafeRawBufferPointer) {
        uiq_return_deferred_table(call, description.baseAddress?.assumingMemoryBound(to: CChar.self), description.count)
    }

    /// Hands a new host object to Lua, which owns it from now on. `native` is the object's C view for the C
    /// methods (a `uiq_regex`), valid as long as the object lives.
    func returnObject(_ object: HostObject, native: UnsafeRawPointer? = nil, type: HostObjectType) {
        uiq_return_object(call, Unmanaged.passRetained(object).toOpaque(), native, type.rawValue)
    }

    /// The state's bookkeeping (regex match resources, the pinned text).
    var host: UnsafeMutablePointer<uiq_host> { uiq_host_of(call.pointee.L) }

    /// Fails the call: the trampoline raises `message` as a Lua error at the caller's file and line.
    func fail(_ message: String) -> Int32 {
        var message = message
        return message.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { uiq_call_fail(call, $0.baseAddress, $0.count) }
        }
    }
}

/// The signature of every host function: 0 for success, 1 after `fail`.
typealias HostFunction = @convention(c) (UnsafeMutablePointer<uiq_call>?) -> Int32
