import CLuaHost

/// Lua's string patterns (`find`, `match`, `gmatch`, `gsub`) with every matching step counted against the
/// instruction budget (CLuaHost/patterns.c): the string library's own backtrack in C, beyond the budget's
/// reach. Not a global: the prelude puts them in place of the string library's functions.
enum StringPatternsModule {
    static let module = HostModule(name: "strings", natives: NativeFunctions(uiq_pattern_natives))
}
