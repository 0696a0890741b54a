import CLua

/// The Lua release the rules run on (from the headers the engine was built with, e.g. `5.4.4`).
public enum LuaVersion {
    public static let release = "\(LUA_VERSION_MAJOR).\(LUA_VERSION_MINOR).\(LUA_VERSION_RELEASE)"
}
