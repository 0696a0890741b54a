import CLua
import CLuaHost
import CPCRE2

/// The `re` module: PCRE2 regular expressions (JIT-compiled, cached per rule set version, bounded by a match
/// limit against catastrophic backtracking), with Python `re` semantics for `\b`, `\d`, `\w`, `\s` and `.`.
///
/// `re.compile(pattern, "i")` → pattern; `pattern:test(text)` → boolean, or nil and a reason when the match
/// limit stopped it; `pattern:find(text)` → start, end (byte positions, 1-based, inclusive);
/// `pattern:match(text)` → the captures (or the whole match when the pattern has none). `test` and `find`
/// run in C (CLuaHost/regex.c), being on every message's path; compiling and `match` are here.
enum RegexModule {
    static let module = HostModule(name: "re", functions: [("compile", compile), ("set", set)], lua: lua)
    static let methods = HostModule(name: HostObjectType.regexPattern.name, functions: [("match", match)],
                                    natives: NativeFunctions(uiq_regex_natives), methodsOf: .regexPattern)
    /// The methods of a compiled set (`test`), all in C.
    static let setMethods = HostModule(name: HostObjectType.regexSet.name, natives: NativeFunctions(uiq_regex_set_natives), methodsOf: .regexSet)

    /// What rules see as `re`: `compile` with a cache per pattern and flags, `set`, and the one-call shortcuts.
    static let lua = """
        local compile_pattern = native.compile
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
        local make_set = native.set
        function re.set(list)
          if type(list) ~= "table" then error("re.set: expected a list of compiled patterns", 2) end
          local set, message = make_set(list)
          if set == nil then error("re.set: " .. message, 2) end
          return set
        end
        function re.test(text, pattern, flags) return re.compile(pattern, flags):test(text) end
        function re.find(text, pattern, flags, init) return re.compile(pattern, flags):find(text, init) end
        function re.match(text, pattern, flags, init) return re.compile(pattern, flags):match(text, init) end
        return re
        """


    /// compile(pattern, flags) → pattern | nil, message
    private static let compile: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        guard let source = call.arguments.string(at: 1), let letters = call.arguments.string(at: 2) else {
            return call.fail("re.compile: expected a pattern and flags")
        }
        guard let flags = RegexPattern.Flags(letters) else {
            call.returnNil()
            call.returnString(environment.arena.copy("unknown flag in '\(letters)' (use i, m, s, x)"))
            return 0
        }
        do {
            let pattern = try environment.ruleSet.compiled.regex(source, flags: flags)
            call.returnObject(pattern, native: UnsafeRawPointer(pattern.native), type: .regexPattern)
        } catch {
            call.returnNil()
            call.returnString(environment.arena.copy("\(error) in pattern \(source)"))
        }
        return 0
    }

    /// set(patterns) → set | nil, message: compiled patterns tested together by `set:test(text)` or
    /// `set:matches(text)` (in C).
    private static let set: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        let stack = call.arguments
        let count = stack.rawLength(at: 1)
        guard stack.type(at: 1) == LUA_TTABLE, (1...RegexSet.maximumCount).contains(count) else {
            call.returnNil()
            call.returnString(environment.arena.copy("expected a list of 1 to \(RegexSet.maximumCount) compiled patterns"))
            return 0
        }
        var patterns: [RegexPattern] = []
        for i in 1...count {
            guard let pattern = stack.withField(of: 1, i, { stack.object(at: $0, type: .regexPattern, as: RegexPattern.self) }) else {
                call.returnNil()
                call.returnString(environment.arena.copy("item \(i) is not a compiled pattern (use re.compile)"))
                return 0
            }
            patterns.append(pattern)
        }
        let regexSet = environment.ruleSet.compiled.regexSet(patterns)
        call.returnObject(regexSet, native: UnsafeRawPointer(regexSet.native), type: .regexSet)
        return 0
    }

    /// pattern:match(text [, init]) → captures… | whole match | nil | nil, "match limit exceeded"
    private static let match: HostFunction = { raw in
        let call = HostCall(raw!)
        let subject = call.text
        var start = 0
        if call.argumentCount >= 3, !call.arguments.isNoneOrNil(at: 3) {
            guard let initial = call.arguments.integer(at: 3) else { return call.fail("re: init must be an integer") }
            start = initial < 0 ? max(subject.count + Int(initial), 0) : max(Int(initial) - 1, 0)
            if start > subject.count {
                call.returnNil()
                return 0
            }
        }
        return call.withReceiver(as: RegexPattern.self) { pattern in
            let rc = uiq_regex_match(call.host, pattern.native, subject.baseAddress?.assumingMemoryBound(to: CChar.self),
                                     subject.count, start, call.textIsTrusted ? 1 : 0, call.textIsASCII ? 1 : 0)
            switch rc {
            case _ where rc >= 0:
                var pairs: UInt32 = 0
                let ovector = uiq_regex_ovector(call.host, &pairs)!
                let groups = pattern.captureCount == 0 ? [0] : Array(1...min(pattern.captureCount, Int(UIQ_MAX_RESULTS)))
                for group in groups {
                    let begin = ovector[2 * group], end = ovector[2 * group + 1]
                    if group < Int(pairs), begin != uiq_pcre2_unset() {
                        call.returnString(UnsafeRawBufferPointer(rebasing: subject[Int(begin)..<Int(end)]))
                    } else {
                        call.returnBoolean(false)
                    }
                }
            case PCRE2_ERROR_NOMATCH:
                call.returnNil()
            case PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_HEAPLIMIT, PCRE2_ERROR_JIT_STACKLIMIT:
                call.returnNil()
                call.returnString(call.withContext(as: HostEnvironment.self) { $0.arena.copy("match limit exceeded") })
            default:
                return call.fail("re: \(RegexPattern.message(for: rc))")
            }
            return 0
        }
    }
}
