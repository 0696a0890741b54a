import Synchronization
import Support

/// The keyword automata and regular expressions one rule set version has compiled, shared by all its Lua
/// states: each list or pattern is compiled once per version, however many states load it.
final class CompiledMatchers: Sendable {
    private let automata = Mutex<[String: KeywordAutomaton]>([:])
    private let patterns = Mutex<[PatternKey: RegexPattern]>([:])
    private let lexicons = Mutex<[String: Lexicon]>([:])
    private let sets = Mutex<[[ObjectIdentifier]: RegexSet]>([:])

    private struct PatternKey: Hashable {
        var source: String
        var flags: RegexPattern.Flags
    }

    /// The automaton of `words` plus the keywords of `lists` (`.keywords` files of the rules, one keyword per line), each list
    /// in its group; built once per version (a list is keyed by its content hash, not its million lines).
    func keywordAutomaton(words: [KeywordAutomaton.Keyword], lists: [(file: RuleFile, group: Int)] = [],
                          groupScores: [Double]) throws(KeywordAutomaton.BuildError) -> KeywordAutomaton {
        var key = groupScores.map { JSONValue.format(number: $0) }.joined(separator: ",")
        for word in words { key += "\u{0}\(word.group)\u{1}\(word.text)" }
        for list in lists { key += "\u{2}\(list.group)\u{1}\(list.file.path)\u{1}\(list.file.sha256)" }
        if let cached = automata.withLock({ $0[key] }) { return cached }
        var all = words
        for list in lists { all += KeywordAutomaton.keywords(inList: list.file.sourceBytes, group: list.group) }
        let automaton = try KeywordAutomaton(keywords: all, groupScores: groupScores)
        return automata.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = automaton
            return automaton
        }
    }

    /// The lexicon of `spec`, whose phrase lists (`{ list = path }`) are the version's `lists` files.
    func lexicon(_ spec: JSONValue, lists: (String) -> RuleFile? = { _ in nil }) throws(Lexicon.BuildError) -> Lexicon {
        let key = spec.jsonText  // a list is named by its path: within one version its contents are fixed
        if let cached = lexicons.withLock({ $0[key] }) { return cached }
        let lexicon = try Lexicon(spec, lists: lists)
        return lexicons.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = lexicon
            return lexicon
        }
    }

    /// The set of exactly these patterns (in this order), built once per version: its prefilter database can take
    /// a second to compile for a thousand patterns, and every Lua state of the version shares it.
    func regexSet(_ patterns: [RegexPattern]) -> RegexSet {
        let key = patterns.map(ObjectIdentifier.init)
        if let cached = sets.withLock({ $0[key] }) { return cached }
        let set = RegexSet(patterns)
        return sets.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = set
            return set
        }
    }

    func regex(_ source: String, flags: RegexPattern.Flags) throws(RegexPattern.CompileError) -> RegexPattern {
        let key = PatternKey(source: source, flags: flags)
        if let cached = patterns.withLock({ $0[key] }) { return cached }
        let pattern = try RegexPattern(source, flags: flags)
        return patterns.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = pattern
            return pattern
        }
    }
}
