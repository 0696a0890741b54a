import CLua
import CLuaHost

/// One Lua 5.4 state with a memory cap and an instruction budget: the only owner of a `lua_State*`.
///
/// Not thread-safe: a state is used by one evaluation at a time (the VM pool guarantees it). Every call that
/// could raise a Lua error goes through CLuaHost, which catches it and returns a status, so no `longjmp`
/// ever crosses a Swift frame.
final class LuaState {
    /// The raw state, for the thin wrappers in this folder only.
    let raw: OpaquePointer
    /// Kept alive as long as the state draws from it.
    private let budget: LuaMemoryBudget?

    /// Creates a state whose allocations may not exceed `memoryLimit` bytes, nor what is left of `budget`.
    init(memoryLimit: Int, budget: LuaMemoryBudget? = nil, regexMatchLimit: UInt32, regexDepthLimit: UInt32) throws(LuaError) {
        guard let state = uiq_state_new(memoryLimit, budget?.raw, releaseHostObject, regexMatchLimit, regexDepthLimit) else {
            throw LuaError(kind: .memory, message: budget.map { "cannot create a Lua state: the shared Lua memory budget of \($0.limit >> 20) MiB is used up" }
                           ?? "cannot create a Lua state within \(memoryLimit) bytes")
        }
        raw = state
        self.budget = budget
    }

    deinit { uiq_state_close(raw) }

    /// Whether the budget hook fired during the last run.
    var budgetExhausted: Bool { uiq_host_of(raw).pointee.budget_exhausted != 0 }
    /// Whether an allocation was refused at the cap during the last run.
    var memoryRefused: Bool { uiq_host_of(raw).pointee.memory_refused != 0 }
    /// Whether that refusal was the shared budget's (rather than the state's own cap).
    var budgetRefused: Bool { uiq_host_of(raw).pointee.budget_refused != 0 }

    /// Opens the standard libraries the sandbox starts from (it then removes what is not allowed).
    func openLibraries() throws(LuaError) {
        try check(uiq_open_libraries(raw), context: "opening the standard libraries")
    }

    /// Makes a Swift host function available to the prelude as `modules[module][name]`.
    func register(module: String, name: String, function: uiq_host_function,
                  context: UnsafeMutableRawPointer) throws(LuaError) {
        try check(uiq_register_function(raw, module, name, function, context), context: "registering \(module).\(name)")
    }

    /// Makes a Swift method of host objects of type `receiver` available as `modules[module][name]`.
    func registerMethod(module: String, name: String, function: uiq_host_function,
                        context: UnsafeMutableRawPointer, receiver: HostObjectType) throws(LuaError) {
        try check(uiq_register_method(raw, module, name, function, context, receiver.rawValue),
                  context: "registering \(module).\(name)")
    }

    /// Makes the C functions of `natives` available as `modules[module][name]`; methods of `receiver` when set.
    func registerNatives(module: String, _ natives: NativeFunctions, receiver: HostObjectType?) throws(LuaError) {
        guard let list = natives.list() else { return }
        try check(uiq_register_natives(raw, module, list, receiver?.rawValue ?? -1), context: "registering the C functions of \(module)")
    }

    /// Declares a host object type whose userdata use `modules[methodsModule]` as their methods.
    func defineObjectType(_ type: HostObjectType, methodsModule: String) throws(LuaError) {
        try check(uiq_define_object_type(raw, type.rawValue, type.name, methodsModule),
                  context: "defining \(type.name)")
    }

    /// Runs `source` as a text chunk named `chunkName` with the prelude's arguments already pushed.
    func runChunk(_ source: String, chunkName: String, arguments: Int, results: Int,
                  budget: Int) throws(LuaError) {
        var source = source
        let status = source.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                uiq_run_chunk(raw, chars.baseAddress, chars.count, chunkName, Int32(arguments), Int32(results),
                              Int64(budget))
            }
        }
        try check(status, context: nil)
    }

    /// Compiles `source` as a text chunk named `chunkName` without running it.
    func compile(_ source: UnsafeRawBufferPointer, chunkName: String) throws(LuaError) {
        let status = uiq_compile(raw, source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count, chunkName)
        try check(status, context: nil)
    }

    /// Calls the function below `arguments` values on the stack, under the instruction budget.
    func call(arguments: Int, results: Int, budget: Int) throws(LuaError) {
        try check(uiq_call_budgeted(raw, Int32(arguments), Int32(results), Int64(budget)), context: nil)
    }

    /// Pushes the registry table of host modules.
    func pushModules() { uiq_push_modules(raw) }

    /// Pops the top value into a registry reference.
    func popReference() throws(LuaError) -> LuaReference {
        let ref = uiq_ref_top(raw)
        guard ref != LUA_NOREF, ref != LUA_REFNIL else {
            throw LuaError(kind: .memory, message: "cannot store a registry reference")
        }
        return LuaReference(raw: ref)
    }

    /// Pushes a referenced value.
    func push(_ reference: LuaReference) {
        lua_rawgeti(raw, uiq_lua_registryindex(), lua_Integer(reference.raw))
    }

    var top: Int32 {
        get { lua_gettop(raw) }
        set { lua_settop(raw, newValue) }
    }

    func type(at index: Int32) -> Int32 { lua_type(raw, index) }

    /// Pushes the global `name`; its Lua type.
    func pushGlobal(_ name: String) -> Int32 { lua_getglobal(raw, name) }

    /// The name of Lua type `type` ("table", "nil", …).
    func typeName(_ type: Int32) -> String { String(cString: lua_typename(raw, type)) }

    /// Turns a failed status into a typed error, taking the error object off the stack without running any
    /// metamethod.
    func check(_ status: Int32, context: String?) throws(LuaError) {
        guard status != LUA_OK else { return }
        var message = LuaStack(raw).errorText(at: -1)
        lua_settop(raw, -2)
        if let context { message = "\(context): \(message)" }
        let kind: LuaError.Kind
        if budgetExhausted {
            kind = .instructionBudget
        } else if status == LUA_ERRMEM || memoryRefused && message.contains("not enough memory") {
            kind = .memory
            if budgetRefused, let budget, message.hasSuffix("not enough memory") {
                message = String(message.dropLast("not enough memory".count))
                    + "the shared Lua memory budget of \(budget.limit >> 20) MiB is used up"
            }
        } else if status == LUA_ERRSYNTAX {
            kind = .syntax
        } else {
            kind = .runtime
        }
        throw LuaError(kind: kind, message: message)
    }
}

/// A value anchored in the registry (`luaL_ref`).
struct LuaReference: Equatable {
    let raw: Int32
}

/// The host object types that live in Lua as userdata.
/// A module's functions written in C: the CLuaHost accessor of their `luaL_Reg` list (`uiq_regex_natives`, …).
struct NativeFunctions {
    let list: @convention(c) () -> UnsafePointer<luaL_Reg>?

    init(_ list: @escaping @convention(c) () -> UnsafePointer<luaL_Reg>?) { self.list = list }
}

enum HostObjectType: Int32, CaseIterable {
    case keywordMatcher = 0
    case regexPattern = 1
    case regexSet = 2
    case lexicon = 3

    var name: String {
        switch self {
        case .keywordMatcher: "keywords.matcher"
        case .regexPattern: "re.pattern"
        case .regexSet: "re.set"
        case .lexicon: "lexicon.lexicon"
        }
    }
}

/// Base class of every Swift object a Lua userdata can own.
class HostObject {}

/// Called from a userdata's `__gc`: balances the retain made when the object was handed to Lua.
private let releaseHostObject: uiq_release_fn = { pointer in
    guard let pointer else { return }
    Unmanaged<HostObject>.fromOpaque(pointer).release()
}
