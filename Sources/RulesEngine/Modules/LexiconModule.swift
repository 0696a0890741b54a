import CLua

/// The `lexicon` module: concepts found by words, with misspellings forgiven and negated, hypothetical and
/// resolved mentions told apart (`Lexicon`). Compiled once per rules version.
///
/// `lexicon.compile{concepts = {...}, aliases = {...}, fuzzy = 5, negation = {...}, ...}` → lexicon (a concept's
/// `phrases` may be `lexicon.list("places.keywords")`: a file of the rules, one phrase per line);
/// `lex:scan(text)` → the masks of the active concepts (concept i is bit (i-1) % 64 of mask (i-1) // 64 + 1);
/// With `intents = {...}` (and `minor`, `modifiers`, `max_shift`) in the specification (`IntentTable`):
/// `lex:classify(text)` → the number of the winning intent (or nil), then the masks; `lex:rate(text)` → the keyword
/// score (with `default_level`, `floor`, `cap`, `decimals` from the specification) and that number; `lex:intents(text)` → the numbers of every intent that
/// counts, comma-separated; `lex:read(text)` → both, and what explain gives, from one reading; `lex:breakdown(text)` →
/// the score before rounding and the whole breakdown table, built by the host. `lex:explain(text)` → "name=state:words|…" for every concept mentioned; `lex:words(text)` → the normalized
/// words, space-separated.
enum LexiconModule {
    static let module = HostModule(name: "lexicon", functions: [("compile", compile)], lua: lua)

    /// What rules see as `lexicon`: `compile` checks its table for the native compiler.
    static let lua = """
        local compile_lexicon = native.compile
        local lexicon = {}
        -- A concept's phrases kept in a file of the rules (one phrase per line), read by the host.
        function lexicon.list(path)
          if type(path) ~= "string" or not path:find("%.keywords$") then
            error("lexicon.list expects the path of a .keywords file of the rules", 2)
          end
          return { list = path }
        end
        function lexicon.compile(spec)
          if type(spec) ~= "table" then error("lexicon.compile: expected a table { concepts = {...}, ... }", 2) end
          local compiled, message = compile_lexicon(spec)
          if compiled == nil then error("lexicon.compile: " .. message, 2) end
          return compiled
        end
        return lexicon
        """

    static let methods = HostModule(name: HostObjectType.lexicon.name, functions: [
        ("scan", scan), ("classify", classify), ("rate", rate), ("intents", intents), ("explain", explain), ("read", read),
        ("breakdown", breakdown),
        ("words", words),
    ], methodsOf: .lexicon)

    /// compile(spec) → lexicon | nil, message
    private static let compile: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        guard call.arguments.type(at: 1) == LUA_TTABLE else { return call.fail("lexicon.compile: expected a table") }
        var budget = 1_000_000
        let spec = call.arguments.json(at: 1, budget: &budget)
        do {
            let ruleSet = environment.ruleSet
            call.returnObject(try ruleSet.compiled.lexicon(spec, lists: { path in
                path.hasSuffix(RuleSet.keywordListSuffix) ? ruleSet.files[path] : nil
            }), type: .lexicon)
        } catch {
            call.returnNil()
            call.returnString(environment.arena.copy("\(error)"))
        }
        return 0
    }

    /// lex:scan(text) → mask1[, mask2, mask3, mask4]
    private static let scan: HostFunction = { raw in
        let call = HostCall(raw!)
        call.withReceiver(as: Lexicon.self) { lexicon in
            returnMasks(lexicon.activeConcepts(call.text), count: lexicon.maskCount, call)
        }
        return 0
    }

    private static func returnMasks(_ active: IntentTable.Concepts, count: Int, _ call: HostCall) {
        let words = [active.words.0, active.words.1, active.words.2, active.words.3]
        for index in 0..<count { call.returnInteger(Int(Int64(bitPattern: words[index]))) }
    }

    /// lex:classify(text) → intent number | nil, mask1[, mask2, mask3, mask4]
    private static let classify: HostFunction = { raw in
        let call = HostCall(raw!)
        return call.withReceiver(as: Lexicon.self) { lexicon in
            guard let intents = lexicon.intents else { return call.fail("classify: the lexicon declares no intents") }
            let active = lexicon.activeConcepts(call.text)
            if let chosen = intents.choose(active) { call.returnInteger(chosen + 1) } else { call.returnNil() }
            returnMasks(active, count: lexicon.maskCount, call)
            return 0
        }
    }

    /// lex:rate(text) → the keyword score (level, modifiers' step, floor/cap, decimals), intent number | nil: a
    /// message's whole keyword reading in one call
    private static let rate: HostFunction = { raw in
        let call = HostCall(raw!)
        return call.withReceiver(as: Lexicon.self) { lexicon in
            guard let intents = lexicon.intents else { return call.fail("rate: the lexicon declares no intents") }
            let (score, chosen) = intents.rate(lexicon.activeConcepts(call.text))
            call.returnNumber(score)
            if let chosen { call.returnInteger(chosen + 1) } else { call.returnNil() }
            return 0
        }
    }

    /// lex:intents(text) → "3,7,12": every intent that counts
    private static let intents: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        return call.withReceiver(as: Lexicon.self) { lexicon in
            guard let intents = lexicon.intents else { return call.fail("intents: the lexicon declares no intents") }
            let list = intents.counting(lexicon.activeConcepts(call.text)).map { String($0 + 1) }.joined(separator: ",")
            call.returnString(environment.arena.copy(list))
            return 0
        }
    }

    /// lex:explain(text) → "name=state:words|…", concepts in declaration order
    private static let explain: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        call.withReceiver(as: Lexicon.self) { lexicon in
            call.returnString(environment.arena.copy(bytes: mentionText(lexicon.explain(call.text))))
        }
        return 0
    }

    /// "name=state:words|…", as bytes (built once per explained message).
    private static func mentionText(_ explanation: Lexicon.Explanation) -> [UInt8] {
        var text: [UInt8] = []
        for (index, mention) in explanation.mentions.enumerated() {
            if index > 0 { text.append(UInt8(ascii: "|")) }
            text.append(contentsOf: mention.name.utf8)
            text.append(UInt8(ascii: "="))
            text.append(contentsOf: mention.state.name.utf8)
            text.append(UInt8(ascii: ":"))
            text.append(contentsOf: mention.words.utf8)
        }
        return text
    }

    /// lex:read(text) → intent number | nil, "3,7,12" (every intent that counts), "name=state:words|…", the
    /// modifiers' step, "1,4" (the modifiers that hold) — what rate, intents and explain give, from one reading
    private static let read: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        return call.withReceiver(as: Lexicon.self) { lexicon in
            guard let intents = lexicon.intents else { return call.fail("read: the lexicon declares no intents") }
            let explanation = lexicon.explain(call.text)
            if let chosen = intents.choose(explanation.active) { call.returnInteger(chosen + 1) } else { call.returnNil() }
            call.returnString(environment.arena.copy(intents.counting(explanation.active).map { String($0 + 1) }.joined(separator: ",")))
            call.returnString(environment.arena.copy(bytes: mentionText(explanation)))
            call.returnNumber(intents.shift(explanation.active))
            call.returnString(environment.arena.copy(intents.applying(explanation.active).map { String($0 + 1) }.joined(separator: ",")))
            return 0
        }
    }

    /// lex:breakdown(text) → the score before rounding (`rate`'s, unrounded), and the breakdown: `intent` {name,
    /// level} (none when no intent wins), `concepts` {name = the words that stated it}, `set_aside` {name = "negated:
    /// words", …}, `modifiers` {{name, add}, …} and `fired` {"intent …", "concept …", "modifier …"}: the default
    /// rules' explanation in one call, its tables built in C rather than assembled by the rules' Lua from strings.
    private static let breakdown: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        return call.withReceiver(as: Lexicon.self) { lexicon in
            guard let intents = lexicon.intents, let strings = lexicon.breakdownStrings else {
                return call.fail("breakdown: the lexicon declares no intents")
            }
            // The mentions first (their words back to back): the active concepts decide the rest. Into the state's
            // buffers, kept from call to call.
            var mentionWords: [UInt8] = [], mentions: [HostEnvironment.Mention] = [], stated: [Int] = [], applying: [Int] = []
            swap(&mentionWords, &environment.mentionWords)
            swap(&mentions, &environment.mentions)
            swap(&stated, &environment.stated)
            swap(&applying, &environment.applying)
            mentionWords.removeAll(keepingCapacity: true)
            mentions.removeAll(keepingCapacity: true)
            defer {
                swap(&mentionWords, &environment.mentionWords)
                swap(&mentions, &environment.mentions)
                swap(&stated, &environment.stated)
                swap(&applying, &environment.applying)
            }
            let active = lexicon.forEachMention(in: call.text) { concept, state, words in
                let start = mentionWords.count
                mentionWords.append(contentsOf: words)
                mentions.append((concept, state, start..<mentionWords.count))
            }
            let chosen = intents.choose(active)
            intents.counting(active, into: &stated)
            intents.applying(active, into: &applying)
            let activeCount = mentions.reduce(0) { $0 + ($1.state == .active ? 1 : 0) }
            let score = intents.unroundedScore(active, chosen: chosen)
            if call.mayDefer {
                let description = mentionWords.withUnsafeBytes { words in
                    describeBreakdown(into: environment.deferred, strings: strings, chosen: chosen, stated: stated,
                                      applying: applying, mentions: mentions, words: words)
                }
                if let description {
                    call.returnNumber(score)
                    call.returnDeferredTable(description)
                    return 0
                }
            }
            var plan = environment.plan
            plan.reset()
            plan.use(strings.constants)
            /// Pushes `{name = <constant name>, <key> = value}`: the intent, or a modifier.
            func entry(_ name: Int32, _ key: Int32, _ value: LuaNumber) {
                plan.table(record: 2)
                plan.constant(strings.nameKey)
                plan.constant(name)
                plan.set()
                plan.constant(key)
                plan.number(value)
                plan.set()
            }
            plan.table(record: 5)
            if let chosen {
                plan.constant(strings.intentKey)
                entry(strings.intentName(chosen), strings.levelKey, intents.levels[chosen])
                plan.set()
            }
            mentionWords.withUnsafeBufferPointer { words in
                plan.constant(strings.conceptsKey)
                plan.table(record: activeCount)
                for mention in mentions where mention.state == .active {
                    plan.constant(strings.conceptName(mention.concept))
                    plan.string(bytes: UnsafeBufferPointer(rebasing: words[mention.words]))
                    plan.set()
                }
                plan.set()
                plan.constant(strings.setAsideKey)
                plan.table(record: mentions.count - activeCount)
                for mention in mentions where mention.state != .active {
                    plan.constant(strings.conceptName(mention.concept))
                    plan.string(setAsideLabel(mention.state), bytes: UnsafeBufferPointer(rebasing: words[mention.words]))
                    plan.set()
                }
                plan.set()
            }
            plan.constant(strings.modifiersKey)
            plan.table(array: applying.count)
            for modifier in applying {
                entry(strings.modifierName(modifier), strings.addKey, intents.steps[modifier])
                plan.appendToList()
            }
            plan.set()
            plan.constant(strings.firedKey)
            plan.table(array: stated.count + activeCount + applying.count)
            for intent in stated {
                plan.constant(strings.intentLabel(intent))
                plan.appendToList()
            }
            for mention in mentions where mention.state == .active {
                plan.constant(strings.conceptLabel(mention.concept))
                plan.appendToList()
            }
            for modifier in applying {
                plan.constant(strings.modifierLabel(modifier))
                plan.appendToList()
            }
            plan.set()
            call.returnNumber(score)
            call.returnTable(plan, in: environment.arena)
            environment.plan = plan
            return 0
        }
    }

    /// How `set_aside` introduces the words of a concept that does not count: "negated: ", …
    static func setAsideLabel(_ state: Lexicon.State) -> StaticString {
        switch state {
        case .resolved: "resolved: "
        case .hypothetical: "hypothetical: "
        case .negated: "negated: "
        case .absent: "absent: "
        case .active: "active: "
        }
    }

    /// lex:words(text) → the normalized words
    private static let words: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        call.withReceiver(as: Lexicon.self) { lexicon in
            call.returnString(environment.arena.copy(lexicon.normalizedWords(call.text)))
        }
        return 0
    }
}
