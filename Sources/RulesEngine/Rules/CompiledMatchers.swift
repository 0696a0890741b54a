import Synchronization
import Support

/// The keyword automata and regular expressions one rule set version has compiled, shared by all its Lua
/// states: each list or pattern is compiled once per version, however many states load it. (Within a version the
/// rules' files are fixed, so a list file is known by its path.)
final class CompiledMatchers: Sendable {
    private let automata = Memo<String, KeywordAutomaton>()
    private let patterns = Memo<PatternKey, RegexPattern>()
    private let lexicons = Memo<String, Lexicon>()
    private let sets = Memo<[ObjectIdentifier], RegexSet>()

    private struct PatternKey: Hashable {
        var source: String
        var flags: RegexPattern.Flags
    }

    /// The automaton of `words` plus the keywords of `lists` (`.keywords` files of the rules, one keyword per
    /// line), each list in its group.
    func keywordAutomaton(words: [KeywordAutomaton.Keyword], lists: [(file: RuleFile, group: Int)] = [],
                          groupScores: [Double]) throws(KeywordAutomaton.BuildError) -> KeywordAutomaton {
        var key = groupScores.map { JSONValue.format(number: $0) }.joined(separator: ",")
        for word in words { key += "\u{0}\(word.group)\u{1}\(word.text)" }
        for list in lists { key += "\u{2}\(list.group)\u{1}\(list.file.path)" }
        return try automata.value(for: key) { () throws(KeywordAutomaton.BuildError) in
            var all = words
            for list in lists { all += list.file.listEntries.map { KeywordAutomaton.Keyword(text: $0, group: list.group) } }
            return try KeywordAutomaton(keywords: all, groupScores: groupScores)
        }
    }

    /// The lexicon of `spec`, whose phrase lists (`{ list = path }`) are the version's `lists` files.
    func lexicon(_ spec: JSONValue, lists: (String) -> RuleFile? = { _ in nil }) throws(Lexicon.BuildError) -> Lexicon {
        try lexicons.value(for: spec.jsonText) { () throws(Lexicon.BuildError) in try Lexicon(spec, lists: lists) }
    }

    /// The set of exactly these patterns (in this order): its prefilter database can take a second to compile for a
    /// thousand patterns, and every Lua state of the version shares it.
    func regexSet(_ patterns: [RegexPattern]) -> RegexSet {
        sets.value(for: patterns.map(ObjectIdentifier.init)) { RegexSet(patterns) }
    }

    func regex(_ source: String, flags: RegexPattern.Flags) throws(RegexPattern.CompileError) -> RegexPattern {
        try patterns.value(for: PatternKey(source: source, flags: flags)) { () throws(RegexPattern.CompileError) in
            try RegexPattern(source, flags: flags)
        }
    }
}
