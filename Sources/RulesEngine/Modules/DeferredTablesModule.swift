import CLuaHost

/// The raw functions that see a deferred table as the table it stands for (CLuaHost/deferred.c): `next`, `rawget`,
/// `rawlen` and `getmetatable` build it first, and `build` does it for the sandbox's own `rawset` and
/// `setmetatable`. Not a global: the prelude puts them in place of the base library's.
enum DeferredTablesModule {
    static let module = HostModule(name: "deferred", natives: NativeFunctions(uiq_deferred_natives))
}
