/// The sandbox every rule runs in, built in one place: the allowlist of globals and libraries, the
/// read-only globals, the text-only `load`, the rules-directory-only `require`, and the host modules.
///
/// The prelude below runs once per Lua state, with the standard libraries the host opened (base, string,
/// table, math, utf8, os) and the registry table of host modules as its argument. It removes everything
/// that is not on the allowlist, then returns the entry points the host uses to load the rules
/// (`load_entry`) and to freeze the globals once they are loaded (`finish`).
enum Sandbox {
    /// Base functions rules may use. Everything else (dofile, loadfile, collectgarbage, …) is removed;
    /// `load`, `require`, `rawset`, `setmetatable` and `print` are replaced by the guarded versions below.
    static let baseAllowlist = [
        "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
        "rawlen", "select", "tonumber", "tostring", "type", "xpcall", "_VERSION",
    ]
    /// Whole libraries rules may use (`string` without `dump`).
    static let libraryAllowlist = ["string", "table", "math", "utf8"]
    /// The only `os` functions rules may use.
    static let osAllowlist = ["time", "clock", "date"]

    static let chunkName = "=[sandbox]"

    /// The part of the prelude that builds each host module's global: its `lua`, run with its natives.
    private static var exposedModules: String {
        HostModule.all.compactMap { module in
            module.lua.map { "exposed[\"\(module.name)\"] = (function(native)\n\($0)\nend)(modules[\"\(module.name)\"])" }
        }.joined(separator: "\n")
    }

    /// Built once: every Lua state runs the same text.
    static let prelude: String = {
        """
        local modules = ...
        local G = _G
        local next, type, error, tostring, select, pcall = next, type, error, tostring, select, pcall
        local rawset, rawget, setmetatable, getmetatable, load = rawset, rawget, setmetatable, getmetatable, load
        local format, find, match, concat = string.format, string.find, string.match, table.concat

        -- 1. Keep the allowlist, drop everything else.
        local BASE = { \(baseAllowlist.map { "\"\($0)\"" }.joined(separator: ", ")) }
        local LIBRARIES = { \(libraryAllowlist.map { "\"\($0)\"" }.joined(separator: ", ")) }
        local OS = { \(osAllowlist.map { "\"\($0)\"" }.joined(separator: ", ")) }

        local keep = { _G = G }
        for _, name in next, BASE do keep[name] = G[name] end
        -- A table a host method deferred (CLuaHost/deferred.c) is built before a raw function looks at it; pairs
        -- hands out that next.
        local deferred = modules.\(DeferredTablesModule.module.name)
        local build, deferred_next = deferred.build, deferred.next
        for _, name in next, { "next", "pairs", "rawget", "rawlen", "getmetatable" } do keep[name] = deferred[name] end
        local libraries = {}
        for _, name in next, LIBRARIES do
          local copy = {}
          for k, v in next, G[name] do copy[k] = v end
          libraries[name] = copy
        end
        libraries.string.dump = nil
        -- The string library's pattern matcher backtracks in C, beyond the instruction budget's reach: these
        -- versions count their steps against it.
        for name, bounded in next, modules.\(StringPatternsModule.module.name) do libraries.string[name] = bounded end
        local os_subset = {}
        for _, name in next, OS do os_subset[name] = G.os[name] end
        libraries.os = os_subset

        local names = {}
        for k in next, G do names[#names + 1] = k end
        for i = 1, #names do rawset(G, names[i], nil) end
        for k, v in next, keep do rawset(G, k, v) end

        -- 2. Read-only tables: the real contents move to a hidden store behind a protected metatable.
        local frozen = setmetatable({}, { __mode = "k" })
        local function freeze(t, describe)
          local store = {}
          for k, v in next, t do store[k] = v end
          for k in next, store do rawset(t, k, nil) end
          setmetatable(t, {
            __index = store,
            __newindex = function(_, key) error(describe(key), 2) end,
            __pairs = function() return deferred_next, store, nil end,
            __len = function() return #store end,
            __metatable = false,
          })
          frozen[t] = true
          return t, store
        end
        local function field_of(name)
          return function(key) return format("attempt to assign to %s.%s: it is read-only", name, tostring(key)) end
        end

        for name, library in next, libraries do rawset(G, name, (freeze(library, field_of(name)))) end
        local string_metatable = getmetatable("")
        string_metatable.__index = G.string  -- method calls see the read-only copy (no dump)
        string_metatable.__metatable = false

        -- 3. Guarded replacements.
        rawset(G, "rawset", function(t, k, v)
          if frozen[t] then error("rawset: the table is read-only", 2) end
          build(t)
          return rawset(t, k, v)
        end)
        rawset(G, "setmetatable", function(t, mt)
          if frozen[t] then error("setmetatable: the table is read-only", 2) end
          build(t)
          if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
            error("setmetatable: __gc metamethods are not allowed in rules", 2)
          end
          return setmetatable(t, mt)
        end)
        rawset(G, "load", function(chunk, chunkname, mode, ...)
          if type(chunk) ~= "string" then return nil, "load: rules may load source text only" end
          if select("#", ...) > 0 then return load(chunk, chunkname or "=(load)", "t", (...)) end
          return load(chunk, chunkname or "=(load)", "t")
        end)

        local source_of = modules.rules.source
        local loaded, loading = {}, {}
        local function require(name)
          if type(name) ~= "string" or #name == 0 or #name > 200 or find(name, "[^%w_%.]") or find(name, "^%.")
              or find(name, "%.$") or find(name, "..", 1, true) then
            error(format("require: invalid module name %s (use a dotted name such as 'lib.tiers')", tostring(name)), 2)
          end
          local value = loaded[name]
          if value ~= nil then return value end
          if loading[name] then error(format("require: module '%s' requires itself", name), 2) end
          local source, path = source_of(name)
          if source == nil then error("require: " .. path, 2) end
          local chunk, message = load(source, "@" .. path, "t", G)
          if chunk == nil then
            local where, rest = match(message, "^(.-:%d+:) (.*)$")
            error(where and (where .. " syntax error: " .. rest) or ("syntax error: " .. message), 0)
          end
          loading[name] = true
          local ok, result = pcall(chunk, name, path)
          loading[name] = nil
          if not ok then error(result, 0) end
          if result == nil then result = true end
          loaded[name] = result
          return result
        end
        rawset(G, "require", require)

        -- 4. Host modules: each module's Lua (declared with it, in Sources/RulesEngine/Modules) builds the
        -- global rules see from the module's natives.
        local exposed = {}
        \(exposedModules)
        for name, module in next, exposed do rawset(G, name, (freeze(module, field_of(name)))) end

        -- 5. Entry points for the host.
        local function load_entry() return require("urgency") end
        local function finish()
          freeze(G, function(key)
            return format("attempt to assign to global '%s' while scoring: globals are read-only (use a local)", tostring(key))
          end)
          local ctx = {}
          for name, module in next, exposed do ctx[name] = G[name] end
          ctx.explain, ctx.llm_enabled = false, false
          local _, store = freeze(ctx, field_of("ctx"))
          return G.score, ctx, store, G.fallback, G.sla
        end
        return load_entry, finish
        """
    }()
}
