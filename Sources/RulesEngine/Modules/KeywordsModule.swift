import CLua

/// The `keywords` module: case-insensitive substring matching of keyword lists, compiled once per rule set.
///
/// Rules call `keywords.set{...}` or `keywords.tiers{...}` (the prelude validates and flattens the tables),
/// then `set:first(text)`, `set:has(text)`, `tiers:best(text)` on every message. A list of keywords may also be
/// a file of the rules (`keywords.list("places.keywords")`: one keyword per line, blank lines and `#` comments
/// skipped): it is read straight into the shared automaton, never copied into each Lua state, so a list of a
/// million keywords costs its automaton and nothing per state.
enum KeywordsModule {
    static let module = HostModule(name: "keywords", functions: [("compile", compile), ("fold", fold)], lua: lua)

    /// What rules see as `keywords`: `set` and `tiers` validate and flatten their tables for the native `compile`.
    static let lua = """
        local compile_keywords = native.compile
        local function check_strings(list, what)
          if type(list) ~= "table" then error(format("%s must be a list of strings, got %s", what, type(list)), 3) end
          for i = 1, #list do
            if type(list[i]) ~= "string" then
              error(format("%s[%d] must be a string, got %s", what, i, type(list[i])), 3)
            end
          end
        end
        local keywords = { fold = native.fold }
        local list_file = {}
        -- A keyword list kept in a file of the rules (read by the host when the list is compiled).
        function keywords.list(path)
          if type(path) ~= "string" or not path:find("%.keywords$") then
            error("keywords.list expects the path of a .keywords file of the rules", 2)
          end
          return setmetatable({ path = path }, list_file)
        end
        local function is_file(list) return getmetatable(list) == list_file end
        function keywords.set(list)
          local files, file_groups = {}, {}
          if is_file(list) then
            files[1], file_groups[1], list = list.path, 1, {}
          end
          check_strings(list, "keywords.set: keywords")
          local groups = {}
          for i = 1, #list do groups[i] = 1 end
          local matcher, message = compile_keywords(list, groups, { 1 }, files, file_groups)
          if matcher == nil then error("keywords.set: " .. message, 2) end
          return matcher
        end
        function keywords.tiers(tiers)
          if type(tiers) ~= "table" then error("keywords.tiers: expected a list of tiers", 2) end
          local words, groups, scores, files, file_groups = {}, {}, {}, {}, {}
          for t = 1, #tiers do
            local tier = tiers[t]
            if type(tier) ~= "table" then error(format("keywords.tiers: tier %d must be a table", t), 2) end
            local label = format("keywords.tiers: tier %d (%s)", t, tostring(tier.name))
            if type(tier.score) ~= "number" then error(label .. " needs a numeric score", 2) end
            scores[t] = tier.score
            if is_file(tier.keywords) then
              files[#files + 1], file_groups[#file_groups + 1] = tier.keywords.path, t
            else
              check_strings(tier.keywords, label .. " keywords")
              for k = 1, #tier.keywords do
                words[#words + 1] = tier.keywords[k]
                groups[#groups + 1] = t
              end
            end
          end
          local matcher, message = compile_keywords(words, groups, scores, files, file_groups)
          if matcher == nil then error("keywords.tiers: " .. message, 2) end
          return matcher
        end
        return keywords
        """

    static let methods = HostModule(name: HostObjectType.keywordMatcher.name, functions: [
        ("first", first), ("has", has), ("best", best),
    ], methodsOf: .keywordMatcher)

    /// compile(words, groups, scores [, files, file groups]) → matcher | nil, message
    private static let compile: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        let stack = call.arguments
        guard stack.type(at: 1) == LUA_TTABLE, stack.type(at: 2) == LUA_TTABLE, stack.type(at: 3) == LUA_TTABLE else {
            return call.fail("keywords: expected three tables")
        }
        var words: [KeywordAutomaton.Keyword] = []
        for i in stride(from: 1, through: stack.rawLength(at: 1), by: 1) {
            let text = stack.withField(of: 1, i) { stack.string(at: $0) }
            let group = stack.withField(of: 2, i) { stack.integer(at: $0) }
            guard let text, let group, group >= 1 else { return call.fail("keywords: malformed keyword \(i)") }
            words.append(.init(text: text, group: Int(group - 1)))
        }
        var scores: [Double] = []
        for i in 0..<stack.rawLength(at: 3) {
            guard let score = stack.withField(of: 3, i + 1, { stack.number(at: $0) }) else {
                return call.fail("keywords: malformed score \(i + 1)")
            }
            scores.append(score)
        }
        var lists: [(file: RuleFile, group: Int)] = []
        if stack.type(at: 4) == LUA_TTABLE, stack.type(at: 5) == LUA_TTABLE {
            for i in stride(from: 1, through: stack.rawLength(at: 4), by: 1) {
                let path = stack.withField(of: 4, i) { stack.string(at: $0) }
                let group = stack.withField(of: 5, i) { stack.integer(at: $0) }
                guard let path, let group, group >= 1 else { return call.fail("keywords: malformed list \(i)") }
                guard let file = environment.ruleSet.files[path], path.hasSuffix(RuleSet.keywordListSuffix) else {
                    call.returnNil()
                    call.returnString(environment.arena.copy("no keyword list \(path) in the rules"))
                    return 0
                }
                lists.append((file, Int(group - 1)))
            }
        }
        do {
            let automaton = try environment.ruleSet.compiled.keywordAutomaton(words: words, lists: lists, groupScores: scores)
            call.returnObject(automaton, type: .keywordMatcher)
        } catch {
            call.returnNil()
            call.returnString(environment.arena.copy("\(error)"))
        }
        return 0
    }

    /// fold(text) → text lower-cased as Python's str.lower() does it.
    private static let fold: HostFunction = { raw in
        let call = HostCall(raw!)
        guard let text = call.arguments.string(at: 1) else { return call.fail("keywords.fold: expected a string") }
        call.returnString(call.context(as: HostEnvironment.self).arena.copy(CaseFolding.lowercased(text)))
        return 0
    }

    /// matcher:first(text) → keyword | nil: the keyword whose occurrence ends first.
    private static let first: HostFunction = { raw in
        let call = HostCall(raw!)
        call.withReceiver(as: KeywordAutomaton.self) { automaton in
            if let index = automaton.first(in: call.text) {
                call.returnString(automaton.bytes(ofKeyword: index))
            } else {
                call.returnNil()
            }
        }
        return 0
    }

    /// matcher:has(text) → boolean
    private static let has: HostFunction = { raw in
        let call = HostCall(raw!)
        call.withReceiver(as: KeywordAutomaton.self) { call.returnBoolean($0.first(in: call.text) != nil) }
        return 0
    }

    /// tiers:best(text) → tier index, keyword | nil: the highest-scoring tier that matches.
    private static let best: HostFunction = { raw in
        let call = HostCall(raw!)
        call.withReceiver(as: KeywordAutomaton.self) { automaton in
            if let index = automaton.best(in: call.text) {
                call.returnInteger(automaton.keywordGroup[index] + 1)
                call.returnString(automaton.bytes(ofKeyword: index))
            } else {
                call.returnNil()
            }
        }
        return 0
    }
}
