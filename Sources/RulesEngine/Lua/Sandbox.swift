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
    /// Where the bounded string-pattern functions are registered; they replace the string library's own.
    static let patternsModule = "strings"

    static var prelude: String {
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
        local libraries = {}
        for _, name in next, LIBRARIES do
          local copy = {}
          for k, v in next, G[name] do copy[k] = v end
          libraries[name] = copy
        end
        libraries.string.dump = nil
        -- The string library's pattern matcher backtracks in C, beyond the instruction budget's reach: these
        -- versions count their steps against it.
        for name, bounded in next, modules.\(patternsModule) do libraries.string[name] = bounded end
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
            __pairs = function() return next, store, nil end,
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
          return rawset(t, k, v)
        end)
        rawset(G, "setmetatable", function(t, mt)
          if frozen[t] then error("setmetatable: the table is read-only", 2) end
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

        -- 4. Host modules.
        local native_log = modules.log.write
        local function logger(level)
          return function(message, ...)
            if select("#", ...) > 0 then message = format(message, ...) end
            native_log(level, tostring(message))
          end
        end
        local log = { debug = logger("debug"), info = logger("info"), warn = logger("warn"), error = logger("error") }
        rawset(G, "print", function(...)
          local parts = {}
          for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
          native_log("info", concat(parts, "\\t"))
        end)

        local compile_keywords = modules.keywords.compile
        local function check_strings(list, what)
          if type(list) ~= "table" then error(format("%s must be a list of strings, got %s", what, type(list)), 3) end
          for i = 1, #list do
            if type(list[i]) ~= "string" then
              error(format("%s[%d] must be a string, got %s", what, i, type(list[i])), 3)
            end
          end
        end
        local keywords = { fold = modules.keywords.fold }
        function keywords.set(list)
          check_strings(list, "keywords.set: keywords")
          local groups = {}
          for i = 1, #list do groups[i] = 1 end
          local matcher, message = compile_keywords(list, groups, { 1 })
          if matcher == nil then error("keywords.set: " .. message, 2) end
          return matcher
        end
        function keywords.tiers(tiers)
          if type(tiers) ~= "table" then error("keywords.tiers: expected a list of tiers", 2) end
          local words, groups, scores = {}, {}, {}
          for t = 1, #tiers do
            local tier = tiers[t]
            if type(tier) ~= "table" then error(format("keywords.tiers: tier %d must be a table", t), 2) end
            local label = format("keywords.tiers: tier %d (%s)", t, tostring(tier.name))
            if type(tier.score) ~= "number" then error(label .. " needs a numeric score", 2) end
            check_strings(tier.keywords, label .. " keywords")
            scores[t] = tier.score
            for k = 1, #tier.keywords do
              words[#words + 1] = tier.keywords[k]
              groups[#groups + 1] = t
            end
          end
          local matcher, message = compile_keywords(words, groups, scores)
          if matcher == nil then error("keywords.tiers: " .. message, 2) end
          return matcher
        end

        local compile_pattern = modules.re.compile
        local patterns = setmetatable({}, { __mode = "v" })
        local re = {}
        function re.compile(pattern, flags)
          if type(pattern) ~= "string" then error("re.compile: the pattern must be a string", 2) end
          if flags ~= nil and type(flags) ~= "string" then error("re.compile: flags must be a string such as 'i'", 2) end
          flags = flags or ""
          local key = flags .. "\\0" .. pattern
          local compiled = patterns[key]
          if compiled == nil then
            local message
            compiled, message = compile_pattern(pattern, flags)
            if compiled == nil then error("re.compile: " .. message, 2) end
            patterns[key] = compiled
          end
          return compiled
        end
        local make_set = modules.re.set
        function re.set(list)
          if type(list) ~= "table" then error("re.set: expected a list of compiled patterns", 2) end
          local set, message = make_set(list)
          if set == nil then error("re.set: " .. message, 2) end
          return set
        end
        function re.test(text, pattern, flags) return re.compile(pattern, flags):test(text) end
        function re.find(text, pattern, flags, init) return re.compile(pattern, flags):find(text, init) end
        function re.match(text, pattern, flags, init) return re.compile(pattern, flags):match(text, init) end

        local native_complete = modules.llm.complete
        local function optional(request, field, expected, level)
          local value = request[field]
          if value ~= nil and type(value) ~= expected then
            error(format("llm.complete: %s must be a %s, got %s", field, expected, type(value)), level or 3)
          end
          return value
        end
        local function whole(request, field, lower, upper)
          local value = optional(request, field, "number", 4)
          if value ~= nil and (value ~= value // 1 or value < lower or value > upper) then
            error(format("llm.complete: %s must be a whole number from %d to %d", field, lower, upper), 3)
          end
          return value and value // 1
        end
        local llm = {}
        function llm.complete(request)
          if type(request) ~= "table" then error("llm.complete expects a table: llm.complete{prompt = ...}", 2) end
          local prompt = optional(request, "prompt", "string")
          if prompt == nil then error("llm.complete: prompt is required", 2) end
          local temperature = optional(request, "temperature", "number")
          if temperature ~= nil and not (temperature >= 0 and temperature <= 2) then
            error("llm.complete: temperature must be from 0 to 2", 2)
          end
          local reply, reason, latency, cached, attempts, status, finish = native_complete(
            optional(request, "system", "string"), prompt, optional(request, "model", "string"), temperature,
            whole(request, "max_tokens", 1, 1000000), whole(request, "timeout_ms", 1, 600000))
          return reply, reason, {
            latency_ms = latency, cached = cached, attempts = attempts, http_status = status, finish_reason = finish,
          }
        end
        local decimal = { round = modules.decimal.round }

        local compile_lexicon = modules.lexicon.compile
        local lexicon = {}
        function lexicon.compile(spec)
          if type(spec) ~= "table" then error("lexicon.compile: expected a table { concepts = {...}, ... }", 2) end
          local compiled, message = compile_lexicon(spec)
          if compiled == nil then error("lexicon.compile: " .. message, 2) end
          return compiled
        end

        local exposed = { keywords = keywords, re = re, log = log, llm = llm, decimal = decimal, lexicon = lexicon }
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
          return G.score, ctx, store, G.fallback
        end
        return load_entry, finish
        """
    }
}
