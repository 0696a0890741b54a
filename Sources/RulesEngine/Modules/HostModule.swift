/// One host module, declared once, in its own file: the native functions it registers (in Swift, in C or both),
/// the host object type whose methods they are (if any), and the Lua that turns them into the global rules see.
/// Registration (`RuleVM`), object types and the sandbox's globals all follow this table; adding a module is a
/// file with its declaration and a line in `all`.
struct HostModule {
    /// Where its natives go in the registry of modules: the global's name (`re`), or a method table (`re.pattern`).
    var name: String
    /// Swift functions, called through the trampoline (which raises their errors in Lua).
    var functions: [(name: String, function: HostFunction)] = []
    /// C functions (a `luaL_Reg` list from CLuaHost), for what runs on every message.
    var natives: NativeFunctions? = nil
    /// Set for a table of methods: the host object type they belong to (the trampoline checks the receiver and
    /// the text argument before a Swift method runs; C methods get the type as their upvalue).
    var methodsOf: HostObjectType? = nil
    /// Lua run by the prelude with `native` (this module's table of natives) in scope and the prelude's locals
    /// (format, error, type, G, …) around it; it returns the table rules see as the global `name`. nil: not a
    /// global (the prelude uses the natives itself).
    var lua: String? = nil

    /// Every module the sandbox knows, in registration order.
    static let all: [HostModule] = [
        RulesSourceModule.module, StringPatternsModule.module, DeferredTablesModule.module, LogModule.module, KeywordsModule.module,
        KeywordsModule.methods, RegexModule.module, RegexModule.methods, RegexModule.setMethods, LLMModule.module,
        DecimalModule.module, LexiconModule.module, LexiconModule.methods,
    ]
}
