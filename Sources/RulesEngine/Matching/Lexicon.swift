import Foundation
import Support

/// Concepts found in a message by words rather than by substrings: the message is folded to lower case and cut
/// into words (`WordSplitter`), each word is normalized (the rules' aliases for SMS spellings, then the rules'
/// vocabulary, a word long enough also when it is one typing slip from a vocabulary word — `SpellingCorrector`),
/// and the rules' phrases are matched on those words (`PhraseTrie`, wildcard words through `WildcardIndex`).
/// Each concept found is then judged in its context, NegEx-style: negated ("not blocked, just asking"),
/// hypothetical ("what happens if my phone is stolen") or resolved ("it was blocked but it works now"); only
/// the others are active.
///
/// Compiled once per rules version and shared by its Lua states. Reading a message allocates a few buffers and
/// no objects: the tables are read through plain pointers.
final class Lexicon: HostObject, @unchecked Sendable {
    /// Why a lexicon specification was refused.
    struct BuildError: Error, CustomStringConvertible {
        var description: String
    }

    /// What became of a concept in one message.
    enum State: UInt8, Comparable {
        case absent = 0, resolved, hypothetical, negated, active
        static func < (a: State, b: State) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .absent: "absent"
            case .resolved: "resolved"
            case .hypothetical: "hypothetical"
            case .negated: "negated"
            case .active: "active"
            }
        }
    }

    /// What a phrase stands for, as the trie stores it: a concept's index, or one of the cues.
    enum Cue {
        static let negation: Int32 = -1
        static let hypothetical: Int32 = -2
        static let resolution: Int32 = -3
        static let boundary: Int32 = -4
    }

    /// The concepts' names, in declaration order (concept i is bit i of the masks).
    let conceptNames: [String]
    /// Per concept: whether a negation before it cancels it.
    private let negatable: FrozenArray<Bool>
    /// Per concept: whether a "what if" makes it hypothetical (a threat is a threat however it is put).
    private let conditional: FrozenArray<Bool>
    /// Per concept: whether a resolution cue resolves it (not for concepts that are themselves the good news).
    private let resolvable: FrozenArray<Bool>
    private let vocabulary: ByteTable
    /// Every word read without correction: aliases (by what they replace) and vocabulary words → an entry below.
    private let known: ByteTable
    /// Per known entry: the words it is read as (one, or several for an alias like `cant = "can not"`), in the
    /// part arrays.
    private let entryPartStart: FrozenArray<Int32>
    private let entryPartCount: FrozenArray<Int32>
    /// Per part: the word as the phrases see it (in `surfaces`), its vocabulary id (-1: a word outside the
    /// vocabulary, read like an unknown word), and its wildcard atoms (in `partWildcards`).
    private let surfaces: FrozenArray<UInt8>
    private let partSurfaceStart: FrozenArray<Int32>
    private let partSurfaceLength: FrozenArray<Int32>
    private let partID: FrozenArray<Int32>
    private let partWildcardStart: FrozenArray<Int32>
    private let partWildcardCount: FrozenArray<Int32>
    private let partWildcards: FrozenArray<Int32>
    /// The most words one word of a message can become (through an alias).
    private let mostParts: Int
    /// Per vocabulary word: whether some phrase starts with it.
    private let startsPhrase: FrozenArray<Bool>
    private let wildcards: WildcardIndex
    private let trie: PhraseTrie
    /// The profile's intents, when the specification declares them (`lex:classify`).
    let intents: IntentTable?
    /// What `lex:breakdown` names, when there are intents.
    let breakdownStrings: BreakdownStrings?
    private let corrector: SpellingCorrector
    let fuzzyMinimum: Int
    let negationWindow: Int

    /// Most concepts a lexicon may declare (four 64-bit masks).
    static let maximumConcepts = 256
    /// Up to how many words `...` in a phrase skips.
    static let gapLength = 3

    /// The atom of `#` in phrases: a word of digits, or digits and a k ("2,500" is two such words, "3k" one), not
    /// starting with 0 (phone numbers, "0712 334 090", and codes are not sums).
    static let numberAtom: Int32 = -1

    /// Whether `word` is a number as `#` means it.
    @inline(__always)
    static func isNumber(_ word: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let first = word.first, first &- 0x31 < 9 else { return false }
        for (index, byte) in word.enumerated() where byte &- 0x30 >= 10 {
            return index == word.count - 1 && byte == UInt8(ascii: "k")
        }
        return true
    }

    /// The atom a wildcard pattern is in phrases and words (vocabulary words are their ids, 0 and up).
    @inline(__always)
    private static func atom(ofWildcard index: Int32) -> Int32 { -2 - index }

    /// `lists` gives the files phrase lists name (`{ list = "places.keywords" }` in place of a concept's phrases).
    init(_ spec: JSONValue, lists: (String) -> RuleFile? = { _ in nil }) throws(BuildError) {
        guard case .array(let concepts)? = spec["concepts"], !concepts.isEmpty else {
            throw BuildError(description: "concepts must be a list of { name = ..., phrases = {...} }")
        }
        guard concepts.count <= Lexicon.maximumConcepts else {
            throw BuildError(description: "\(concepts.count) concepts (at most \(Lexicon.maximumConcepts))")
        }
        fuzzyMinimum = Int(spec["fuzzy"]?.doubleValue ?? 0)
        negationWindow = Int(spec["negation_window"]?.doubleValue ?? 4)
        // Aliases: one word of a message → the words it stands for (`u = "you"`, `cant = "can not"`); the words
        // an alias gives are themselves read through the aliases once (`mpesa = "m-pesa"`, `pesa = "money"`).
        var aliasOf: [[UInt8]: [[UInt8]]] = [:], aliasKeys: [[UInt8]] = []
        if case .object(let table)? = spec["aliases"] {
            var direct: [[UInt8]: [[UInt8]]] = [:]
            for (from, to) in table.sorted(by: { $0.key < $1.key }) {
                guard case .string(let replacement) = to else { throw BuildError(description: "alias \(from) must map to words") }
                let source = WordSplitter.split(CaseFolding.lowercased(from)).map(\.bytes)
                let target = WordSplitter.split(CaseFolding.lowercased(replacement)).map(\.bytes)
                guard source.count == 1 else {
                    throw BuildError(description: "alias \"\(from)\": an alias replaces one word of a message, and this is read as \(source.count) "
                                     + "(\(source.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")))")
                }
                guard !target.isEmpty else { throw BuildError(description: "alias \"\(from)\" must map to at least one word") }
                direct[source[0]] = target
                aliasKeys.append(source[0])
            }
            for key in aliasKeys { aliasOf[key] = direct[key]!.flatMap { direct[$0] ?? [$0] } }
        }
        var vocabulary: [[UInt8]: Int32] = [:]
        var words: [[UInt8]] = []
        func wordID(_ word: [UInt8]) -> Int32 {
            if let id = vocabulary[word] { return id }
            let id = Int32(words.count)
            words.append(word)
            vocabulary[word] = id
            return id
        }
        var patterns: [WildcardIndex.Pattern] = [], patternIndex: [WildcardIndex.Pattern: Int32] = [:]
        var phrases: [(steps: [PhraseTrie.Step], meaning: Int32)] = []
        func addPhrases(_ list: JSONValue?, meaning: Int32, owner: String) throws(BuildError) {
            var list = list
            if case .object(let object)? = list, case .string(let path)? = object["list"] {
                // A phrase list file of the rules: one phrase per line (as keyword lists are read).
                guard let file = lists(path) else { throw BuildError(description: "\(owner): no phrase list \(path) in the rules") }
                list = .array(file.listEntries.map(JSONValue.string))
            }
            guard case .array(let items)? = list else { throw BuildError(description: "\(owner): phrases must be a list of strings") }
            for item in items {
                guard case .string(let text) = item else { throw BuildError(description: "\(owner): phrases must be strings") }
                var steps: [PhraseTrie.Step] = []
                for token in WordSplitter.split(CaseFolding.lowercased(Lexicon.composed(text)), patterns: true).map(\.bytes) {
                    if token == Array("...".utf8) {
                        steps.append(.gap(Lexicon.gapLength))
                    } else if token == [0x23] {
                        steps.append(.atom(Lexicon.numberAtom))
                    } else if token.first == UInt8(ascii: "*") || token.last == UInt8(ascii: "*") {
                        let core = Array(token.drop { $0 == UInt8(ascii: "*") }.reversed().drop { $0 == UInt8(ascii: "*") }.reversed())
                        guard core.count >= 3, !core.contains(UInt8(ascii: "*")) else {
                            throw BuildError(description: "\(owner): \"\(String(decoding: token, as: UTF8.self))\" needs at least 3 letters besides * (and * only at its ends)")
                        }
                        let leading = token.first == UInt8(ascii: "*"), trailing = token.last == UInt8(ascii: "*")
                        let pattern = WildcardIndex.Pattern(kind: leading && trailing ? .infix : leading ? .suffix : .prefix, core: core)
                        let index = patternIndex[pattern] ?? {
                            patterns.append(pattern)
                            patternIndex[pattern] = Int32(patterns.count - 1)
                            return Int32(patterns.count - 1)
                        }()
                        steps.append(.atom(Lexicon.atom(ofWildcard: index)))
                    } else {
                        for word in aliasOf[token] ?? [token] { steps.append(.atom(wordID(word))) }
                    }
                }
                guard let first = steps.first, first != .gap(Lexicon.gapLength), steps.last != .gap(Lexicon.gapLength) else {
                    throw BuildError(description: "\(owner): the phrase \"\(text)\" has no words (or starts or ends with ...)")
                }
                phrases.append((steps: steps, meaning: meaning))
            }
        }
        if case .array(let known)? = spec["words"] {
            for item in known {
                guard case .string(let word) = item else { throw BuildError(description: "words must be a list of strings") }
                for token in WordSplitter.split(CaseFolding.lowercased(word)) {
                    for word in aliasOf[token.bytes] ?? [token.bytes] { _ = wordID(word) }
                }
            }
        }
        var names: [String] = [], negatable: [Bool] = [], conditional: [Bool] = [], resolvable: [Bool] = []
        for (index, concept) in concepts.enumerated() {
            guard case .string(let name)? = concept["name"] else { throw BuildError(description: "concept \(index + 1) needs a name") }
            names.append(name)
            negatable.append(concept["negatable"] != .bool(false))
            conditional.append(concept["hypothetical"] != .bool(false))
            resolvable.append(concept["resolvable"] != .bool(false))
            try addPhrases(concept["phrases"], meaning: Int32(index), owner: "concept \(name)")
        }
        for (key, meaning) in [("negation", Cue.negation), ("hypothetical", Cue.hypothetical), ("resolution", Cue.resolution),
                               ("boundaries", Cue.boundary)] where spec[key] != nil {
            try addPhrases(spec[key], meaning: meaning, owner: key)
        }
        conceptNames = names
        self.negatable = FrozenArray(negatable)
        self.conditional = FrozenArray(conditional)
        self.resolvable = FrozenArray(resolvable)
        self.vocabulary = ByteTable(words.enumerated().map { (key: $0.element, value: Int32($0.offset)) })
        let wildcards = WildcardIndex(patterns)
        self.wildcards = wildcards
        // The known words: aliases first (an alias wins over the word it spells), then the vocabulary.
        var knownKeys: [(key: [UInt8], value: Int32)] = [], pool: [UInt8] = []
        var partStarts: [Int32] = [], partCounts: [Int32] = []
        var surfaceStarts: [Int32] = [], surfaceLengths: [Int32] = [], ids: [Int32] = []
        var wildStarts: [Int32] = [], wildCounts: [Int32] = [], wild: [Int32] = []
        var seen = Set<[UInt8]>()
        let entries = aliasKeys.map { (key: $0, parts: aliasOf[$0]!) } + words.map { (key: $0, parts: [$0]) }
        for (key, parts) in entries where seen.insert(key).inserted {
            knownKeys.append((key: key, value: Int32(partStarts.count)))
            partStarts.append(Int32(ids.count))
            partCounts.append(Int32(parts.count))
            for surface in parts {
                surfaceStarts.append(Int32(pool.count))
                surfaceLengths.append(Int32(surface.count))
                pool.append(contentsOf: surface)
                ids.append(vocabulary[surface] ?? -1)
                wildStarts.append(Int32(wild.count))
                surface.withUnsafeBufferPointer { bytes in wildcards.view.forEachMatch(bytes) { wild.append(Lexicon.atom(ofWildcard: $0)) } }
                wildCounts.append(Int32(wild.count) - wildStarts.last!)
            }
        }
        known = ByteTable(knownKeys)
        entryPartStart = FrozenArray(partStarts)
        entryPartCount = FrozenArray(partCounts)
        mostParts = max(1, partCounts.map(Int.init).max() ?? 1)
        surfaces = FrozenArray(pool)
        partSurfaceStart = FrozenArray(surfaceStarts)
        partSurfaceLength = FrozenArray(surfaceLengths)
        partID = FrozenArray(ids)
        partWildcardStart = FrozenArray(wildStarts)
        partWildcardCount = FrozenArray(wildCounts)
        partWildcards = FrozenArray(wild)
        var starts = [Bool](repeating: false, count: words.count)
        for phrase in phrases { if case .atom(let atom) = phrase.steps[0], atom >= 0 { starts[Int(atom)] = true } }
        startsPhrase = FrozenArray(starts)
        trie = PhraseTrie(phrases)
        intents = spec["intents"] == nil ? nil
            : try IntentTable(spec, concepts: Dictionary(names.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { first, _ in first }))
        breakdownStrings = intents.map {
            BreakdownStrings(conceptNames: names, intentNames: $0.names, modifierNames: $0.modifierNames, levels: $0.levels, steps: $0.steps)
        }
        corrector = SpellingCorrector(vocabulary: self.vocabulary, minimumLength: fuzzyMinimum)
    }

    static func fold(_ text: String) -> [UInt8] { Array(CaseFolding.lowercased(text).utf8) }

    // MARK: Words

    /// A word of the message as the phrases see it.
    struct Word {
        /// The word as written, after its alias: what wildcard patterns look at.
        var surface: UnsafeBufferPointer<UInt8>
        /// The vocabulary word it was read as (itself, or its correction), or -1.
        var id: Int32
        var clause: Int32
        var sentence: Int32
        /// Its atoms (its id, the wildcards it satisfies) in the atom buffer.
        var atomStart: Int32
        var atomCount: Int32
        /// Whether the word was read as a vocabulary word one slip away.
        var corrected: Bool
    }

    /// `text` in composed form (NFC), as messages are read; ASCII text is that already, and most phrases are
    /// ASCII, so Foundation's normalization (slow, and most of compiling a vocabulary) runs only for the rest.
    private static func composed(_ text: String) -> String {
        text.utf8.allSatisfy { $0 < 0x80 } ? text : text.precomposedStringWithCanonicalMapping
    }

    /// Calls `body` with the words of `text`, normalized, and the atom buffer their atoms are in.
    private func withWords<Result>(in text: UnsafeRawBufferPointer,
                                   _ body: (UnsafeBufferPointer<Word>, UnsafeBufferPointer<Int32>) -> Result) -> Result {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: WordSplitter.capacity(forBytes: text.count)) { bytes in
            withUnsafeTemporaryAllocation(of: WordSplitter.Span.self, capacity: max(text.count, 1)) { spans in
                var sawMark = false
                let count = WordSplitter.splitBytes(text, bytes: bytes.baseAddress!, spans: spans.baseAddress!, sawMark: &sawMark)
                // Decomposed accents ("e" + U+0301) are composed first, as phrases are: "café" is café however typed.
                if sawMark {
                    let composed = String(decoding: text, as: UTF8.self).precomposedStringWithCanonicalMapping
                    if !composed.utf8.elementsEqual(text) {
                        var copy = composed
                        return copy.withUTF8 { withWords(in: UnsafeRawBufferPointer($0), body) }
                    }
                }
                return normalize(UnsafeBufferPointer(bytes), UnsafeBufferPointer(rebasing: spans[0..<count]), body)
            }
        }
    }

    /// Normalizes the split words: alias (one word may become several), vocabulary word or correction, wildcard
    /// atoms.
    private func normalize<Result>(_ bytes: UnsafeBufferPointer<UInt8>, _ spans: UnsafeBufferPointer<WordSplitter.Span>,
                                   _ body: (UnsafeBufferPointer<Word>, UnsafeBufferPointer<Int32>) -> Result) -> Result {
        let known = self.known.view, partStart = entryPartStart.pointer, partCount = entryPartCount.pointer
        return withUnsafeTemporaryAllocation(of: Word.self, capacity: max(spans.count * mostParts, 1)) { words in
            var builder = WordBuilder(lexicon: self, words: words.baseAddress!, expected: spans.count)
            for span in spans {
                let written = UnsafeBufferPointer(rebasing: bytes[Int(span.start)..<Int(span.start + span.length)])
                if let entry = known.value(of: written).map(Int.init) {
                    let first = Int(partStart[entry])
                    for part in first..<first + Int(partCount[entry]) { builder.append(written, part: part, span) }
                } else {
                    builder.append(written, part: -1, span)
                }
            }
            return builder.atoms.withUnsafeBufferPointer { atoms in body(UnsafeBufferPointer(rebasing: words[0..<builder.count]), atoms) }
        }
    }

    /// Builds the words of a message, one at a time, into a buffer; their atoms into `atoms`.
    private struct WordBuilder {
        let vocabulary: ByteTable.View, wildcards: WildcardIndex.View
        /// Not retained: the lexicon that owns it outlives every reading.
        unowned(unsafe) let corrector: SpellingCorrector
        let surfaces: UnsafePointer<UInt8>, surfaceStart: UnsafePointer<Int32>, surfaceLength: UnsafePointer<Int32>
        let partID: UnsafePointer<Int32>
        let wildcardStart: UnsafePointer<Int32>, wildcardCount: UnsafePointer<Int32>, partWildcards: UnsafePointer<Int32>
        let words: UnsafeMutablePointer<Word>
        var atoms = ContiguousArray<Int32>()
        var count = 0

        init(lexicon: Lexicon, words: UnsafeMutablePointer<Word>, expected: Int) {
            vocabulary = lexicon.vocabulary.view
            wildcards = lexicon.wildcards.view
            corrector = lexicon.corrector
            surfaces = lexicon.surfaces.pointer
            surfaceStart = lexicon.partSurfaceStart.pointer
            surfaceLength = lexicon.partSurfaceLength.pointer
            partID = lexicon.partID.pointer
            wildcardStart = lexicon.partWildcardStart.pointer
            wildcardCount = lexicon.partWildcardCount.pointer
            partWildcards = lexicon.partWildcards.pointer
            self.words = words
            atoms.reserveCapacity(expected * 2)
        }

        /// Appends one word: a known part, or (`part` -1) the word as written.
        mutating func append(_ written: UnsafeBufferPointer<UInt8>, part: Int, _ span: WordSplitter.Span) {
            var surface = written
            var id: Int32 = -1
            var corrected = false
            let atomStart = atoms.count
            if part >= 0 {
                surface = UnsafeBufferPointer(start: surfaces + Int(surfaceStart[part]), count: Int(surfaceLength[part]))
                id = partID[part]
                if id >= 0 {
                    atoms.append(id)
                    let start = Int(wildcardStart[part])
                    for k in start..<start + Int(wildcardCount[part]) { atoms.append(partWildcards[k]) }
                }
            }
            let number = Lexicon.isNumber(surface)
            if number { atoms.append(Lexicon.numberAtom) }  // "#" in phrases
            if id < 0 && !number {
                if let correction = corrector.correction(of: surface) {
                    id = correction
                    corrected = true
                    atoms.append(id)
                }
                if !wildcards.isEmpty {
                    wildcards.forEachMatch(surface) { atoms.append(Lexicon.atom(ofWildcard: $0)) }
                    if corrected {  // a prefix may match the corrected word ("rejcted" → rejected → reject*)
                        var more: [Int32] = []
                        wildcards.forEachMatch(vocabulary.key(at: id), prefixesOnly: true) { more.append(Lexicon.atom(ofWildcard: $0)) }
                        for atom in more where !atoms[atomStart...].contains(atom) { atoms.append(atom) }
                    }
                }
            }
            (words + count).initialize(to: Word(
                surface: surface, id: id, clause: span.clause, sentence: span.sentence,
                atomStart: Int32(atomStart), atomCount: Int32(atoms.count - atomStart), corrected: corrected))
            count += 1
        }
    }

    /// The bytes a word is read as: its vocabulary word, or as written.
    private func reading(of word: Word) -> UnsafeBufferPointer<UInt8> {
        word.id >= 0 ? vocabulary.view.key(at: word.id) : word.surface
    }

    /// The words of a message, normalized, space-separated (`lex:words`).
    func normalizedWords(_ text: UnsafeRawBufferPointer) -> String {
        withWords(in: text) { words, _ in words.map { String(decoding: reading(of: $0), as: UTF8.self) }.joined(separator: " ") }
    }

    // MARK: Matching

    /// One phrase found: what it means (a concept or a cue), the words it covers, the trie node it ended at.
    struct Occurrence {
        var meaning: Int32
        var start: Int32
        var end: Int32  // inclusive
        var node: Int32
    }

    /// Every phrase occurrence among `words`: at each word, every phrase that starts there (a phrase with `...`
    /// ends where it ends first).
    private func occurrences(_ words: UnsafeBufferPointer<Word>, _ atoms: UnsafeBufferPointer<Int32>) -> ContiguousArray<Occurrence> {
        var found = ContiguousArray<Occurrence>()
        found.reserveCapacity(16)
        let trie = self.trie.view
        for start in 0..<words.count {
            walk(trie, PhraseTrie.View.root, Int32(start), words, atoms, start: Int32(start), first: found.count, into: &found)
        }
        return found
    }

    private func walk(_ trie: PhraseTrie.View, _ node: Int32, _ position: Int32, _ words: UnsafeBufferPointer<Word>,
                      _ atoms: UnsafeBufferPointer<Int32>, start: Int32, first: Int, into found: inout ContiguousArray<Occurrence>) {
        if node != PhraseTrie.View.root {
            let meanings = trie.meanings(node)
            if !meanings.isEmpty && !found[first...].contains(where: { $0.node == node }) {
                for meaning in meanings { found.append(Occurrence(meaning: meaning, start: start, end: position - 1, node: node)) }
            }
        }
        if Int(position) < words.count {
            let word = words[Int(position)]
            let rootOnly = node == PhraseTrie.View.root
            for k in Int(word.atomStart)..<Int(word.atomStart + word.atomCount) {
                let atom = atoms[k]
                if rootOnly && atom >= 0 && !startsPhrase.pointer[Int(atom)] { continue }
                let child = trie.child(node, atom)
                if child >= 0 { walk(trie, child, position + 1, words, atoms, start: start, first: first, into: &found) }
            }
        }
        let (gap, most) = trie.gap(node)
        if gap >= 0 {
            for skip in 0...most where Int(position) + skip <= words.count {
                walk(trie, gap, position + Int32(skip), words, atoms, start: start, first: first, into: &found)
            }
        }
    }

    // MARK: Judging

    /// Judges every concept found in `words` into `states` (one per concept, all `.absent` on entry); calls
    /// `evidence` with the concept and the words of each occurrence that set or confirmed its state.
    ///
    /// Linear in the message apart from sorting the occurrences: every check looks only at the occurrences that can
    /// reach it (no phrase is longer than the longest one found, the cues are kept sorted by where they end), so a
    /// message of 20,000 bytes costs what its words cost, not their square or cube.
    private func judge(_ words: UnsafeBufferPointer<Word>, _ atoms: UnsafeBufferPointer<Int32>, into states: UnsafeMutablePointer<State>,
                       evidence: ((Int, Int, Int) -> Void)? = nil) {
        let found = occurrences(words, atoms)  // in order of start, by construction
        guard !found.isEmpty else { return }
        var longest: Int32 = 0
        for occurrence in found where occurrence.end - occurrence.start > longest { longest = occurrence.end - occurrence.start }
        /// The index of the first occurrence starting at or after `position`.
        func firstStarting(at position: Int32) -> Int {
            var low = 0, high = found.count
            while low < high {
                let middle = (low + high) / 2
                if found[middle].start < position { low = middle + 1 } else { high = middle }
            }
            return low
        }
        let negatable = self.negatable.pointer, resolvable = self.resolvable.pointer
        withUnsafeTemporaryAllocation(of: Bool.self, capacity: found.count) { dropped in
            dropped.initialize(repeating: false)
            // The longest phrase wins: a concept found inside a longer phrase of another concept is part of that
            // one ("late" in "late fee", "stolen" in "stolen stock", "emergency" in "emergency loan").
            for (i, inner) in found.enumerated() where inner.meaning >= 0 {
                var j = firstStarting(at: inner.start - longest)
                while j < found.count && found[j].start <= inner.start {
                    let outer = found[j]
                    if outer.meaning >= 0 && outer.meaning != inner.meaning && inner.end <= outer.end
                        && outer.end - outer.start > inner.end - inner.start {
                        dropped[i] = true
                        break
                    }
                    j += 1
                }
            }
            // A cue inside a concept's own phrase ("not" in "not received") is part of that phrase, not a cue; so
            // is a cue partly overlapping a problem phrase that carries its own negation ("received it" in "haven't
            // received it"). A cue that covers a whole concept phrase stays a cue ("received the money" around
            // "money"), and good news never cancels a cue ("works now" beside "it works").
            for (i, cue) in found.enumerated() where cue.meaning < 0 {
                var k = firstStarting(at: cue.start - longest)
                while k < found.count && found[k].start <= cue.end {
                    let concept = found[k]
                    k += 1
                    guard concept.meaning >= 0, !dropped[k - 1], cue.start <= concept.end else { continue }
                    let inside = concept.start <= cue.start && cue.end <= concept.end && (concept.start, concept.end) != (cue.start, cue.end)
                    let covers = cue.start <= concept.start && concept.end <= cue.end  // "received the money" ⊇ "money"
                    let carriesNegation = !negatable[Int(concept.meaning)] && resolvable[Int(concept.meaning)]
                    if inside || (carriesNegation && !covers) {
                        dropped[i] = true
                        break
                    }
                }
            }
            judge(found, dropped: UnsafeBufferPointer(dropped), longest: longest, words, into: states, evidence: evidence)
        }
    }

    /// Judges the concept occurrences by the cues (those not `dropped`).
    private func judge(_ found: ContiguousArray<Occurrence>, dropped: UnsafeBufferPointer<Bool>, longest: Int32,
                       _ words: UnsafeBufferPointer<Word>, into states: UnsafeMutablePointer<State>,
                       evidence: ((Int, Int, Int) -> Void)?) {
        let negatable = self.negatable.pointer, conditional = self.conditional.pointer, resolvable = self.resolvable.pointer
        // The cues of each kind, by where they end, in one buffer; the boundary counts in another (only when needed).
        var counts = (negation: 0, hypothetical: 0, resolution: 0, boundary: 0)
        for k in found.indices where found[k].meaning < 0 && !dropped[k] {
            switch found[k].meaning {
            case Cue.negation: counts.negation += 1
            case Cue.hypothetical: counts.hypothetical += 1
            case Cue.resolution: counts.resolution += 1
            default: counts.boundary += 1
            }
        }
        let cueCount = counts.negation + counts.hypothetical + counts.resolution
        withUnsafeTemporaryAllocation(of: Occurrence.self, capacity: max(cueCount, 1)) { cues in
            withUnsafeTemporaryAllocation(of: Int32.self, capacity: counts.boundary > 0 ? words.count : 1) { boundaries in
                var next = (negation: 0, hypothetical: counts.negation, resolution: counts.negation + counts.hypothetical)
                if counts.boundary > 0 { boundaries.initialize(repeating: 0) }
                for k in found.indices where found[k].meaning < 0 && !dropped[k] {
                    switch found[k].meaning {
                    case Cue.negation: (cues.baseAddress! + next.negation).initialize(to: found[k]); next.negation += 1
                    case Cue.hypothetical: (cues.baseAddress! + next.hypothetical).initialize(to: found[k]); next.hypothetical += 1
                    case Cue.resolution: (cues.baseAddress! + next.resolution).initialize(to: found[k]); next.resolution += 1
                    default: boundaries[Int(found[k].start)] += 1
                    }
                }
                if counts.boundary > 0 { for position in 1..<max(words.count, 1) { boundaries[position] += boundaries[position - 1] } }
                func section(_ from: Int, _ count: Int) -> UnsafeMutableBufferPointer<Occurrence> {
                    var part = UnsafeMutableBufferPointer(rebasing: cues[from..<from + count])
                    if count > 1 { part.sort { $0.end < $1.end } }
                    return part
                }
                var context = CueContext(
                    words: words, boundaries: counts.boundary > 0 ? UnsafePointer(boundaries.baseAddress!) : nil,
                    window: Int32(negationWindow), longest: longest,
                    negations: UnsafeBufferPointer(section(0, counts.negation)),
                    hypotheticals: UnsafeBufferPointer(section(counts.negation, counts.hypothetical)),
                    resolutions: UnsafeBufferPointer(start: nil, count: 0))
                // A negated resolution is no resolution: "it is not sorted yet", "nothing works now".
                let resolutions = section(counts.negation + counts.hypothetical, counts.resolution)
                var kept = 0
                for cue in resolutions where !context.negated(cue.start) {
                    resolutions[kept] = cue
                    kept += 1
                }
                context.resolutions = UnsafeBufferPointer(rebasing: resolutions[0..<kept])
                for (k, occurrence) in found.enumerated() where occurrence.meaning >= 0 && !dropped[k] {
                    let index = Int(occurrence.meaning)
                    var state = State.active
                    if negatable[index], context.negated(occurrence.start) {
                        state = .negated
                    } else if conditional[index], context.hypothetical(occurrence.start) {
                        state = .hypothetical
                    } else if resolvable[index], context.resolved(occurrence) {
                        state = .resolved
                    }
                    if let evidence, state >= states[index] { evidence(index, Int(occurrence.start), Int(occurrence.end)) }
                    if state > states[index] { states[index] = state }
                }
            }
        }
    }

    /// The cues of one message, by kind and sorted by where they end, and its clauses: what judging a concept
    /// occurrence looks at.
    private struct CueContext {
        let words: UnsafeBufferPointer<Word>
        /// Per word: how many boundary cues ("but", "lakini") start at or before it; nil when there are none.
        let boundaries: UnsafePointer<Int32>?
        let window: Int32
        let longest: Int32
        let negations: UnsafeBufferPointer<Occurrence>
        let hypotheticals: UnsafeBufferPointer<Occurrence>
        var resolutions: UnsafeBufferPointer<Occurrence>

        /// Clauses: the splitter's (punctuation), cut again after every boundary cue.
        func clause(_ position: Int32) -> (Int32, Int32) {
            (words[Int(position)].clause, boundaries.map { $0[Int(position)] } ?? 0)
        }

        func sentence(_ position: Int32) -> Int32 { words[Int(position)].sentence }

        /// The index in `list` (sorted by end) of the first cue ending at or after `position`.
        func firstEnding(_ list: UnsafeBufferPointer<Occurrence>, at position: Int32) -> Int {
            var low = 0, high = list.count
            while low < high {
                let middle = (low + high) / 2
                if list[middle].end < position { low = middle + 1 } else { high = middle }
            }
            return low
        }

        /// Whether a negation before `position` reaches it: within the window and the same clause. The nearest one
        /// decides (clauses only grow along the message).
        func negated(_ position: Int32) -> Bool {
            let before = firstEnding(negations, at: position) - 1
            guard before >= 0 else { return false }
            let cue = negations[before]
            return position - cue.end <= window && clause(cue.end) == clause(position)
        }

        /// Whether a "what if" earlier in its sentence makes the word at `position` hypothetical.
        func hypothetical(_ position: Int32) -> Bool {
            let before = firstEnding(hypotheticals, at: position) - 1
            return before >= 0 && sentence(hypotheticals[before].end) == sentence(position)
        }

        /// Whether a resolution cue resolves `occurrence`: after it, in its sentence or the next ("it was blocked,
        /// but it works now"), around it ("CRB cleared"), or before it in the same clause ("received the refund
        /// today").
        func resolved(_ occurrence: Occurrence) -> Bool {
            let first = firstEnding(resolutions, at: occurrence.start)
            if first > 0, clause(resolutions[first - 1].end) == clause(occurrence.start) { return true }
            let own = sentence(occurrence.start)
            for cue in resolutions[first...] {
                if sentence(cue.start) - own <= 1 { return true }
                // later cues start no earlier than this one's end minus the longest phrase: past the next sentence
                if sentence(max(0, cue.end - longest)) - own > 1 { break }
            }
            return false
        }
    }

    /// The active concepts of `text` (`lex:scan`): concept i (0-based) is bit i % 64 of word i / 64.
    func activeConcepts(_ text: UnsafeRawBufferPointer) -> IntentTable.Concepts {
        let conceptCount = conceptNames.count
        return withUnsafeTemporaryAllocation(of: State.self, capacity: conceptCount) { states in
            states.initialize(repeating: .absent)
            withWords(in: text) { words, atoms in judge(words, atoms, into: states.baseAddress!) }
            var active = IntentTable.Concepts()
            for index in 0..<conceptCount where states[index] == .active { active.insert(index) }
            return active
        }
    }

    /// How many 64-bit masks the concepts need (1 to 4).
    var maskCount: Int { (conceptNames.count + 63) / 64 }

    /// What `explain` finds: every concept mentioned, and the active ones as masks.
    struct Explanation {
        var mentions: [(name: String, state: State, words: String)]
        var active: IntentTable.Concepts
    }

    /// Every concept `text` mentions, in declaration order, with its state and the words of its most telling
    /// occurrence (`lex:explain`, `lex:read`).
    func explain(_ text: UnsafeRawBufferPointer) -> Explanation {
        var mentions: [(name: String, state: State, words: String)] = []
        let active = forEachMention(in: text) { concept, state, words in
            mentions.append((name: conceptNames[concept], state: state, words: String(decoding: words, as: UTF8.self)))
        }
        return Explanation(mentions: mentions, active: active)
    }

    /// Calls `body` with every concept `text` mentions, in declaration order: its index, its state and the words
    /// of its most telling occurrence (as read: vocabulary words, space-separated; valid only during the call).
    /// Returns the active concepts.
    func forEachMention(in text: UnsafeRawBufferPointer,
                        _ body: (_ concept: Int, _ state: State, _ words: UnsafeBufferPointer<UInt8>) -> Void) -> IntentTable.Concepts {
        let conceptCount = conceptNames.count
        var active = IntentTable.Concepts()
        withUnsafeTemporaryAllocation(of: State.self, capacity: conceptCount) { states in
            // the words of each concept's most telling occurrence, as word positions: bytes only at the end
            withUnsafeTemporaryAllocation(of: (first: Int32, last: Int32).self, capacity: conceptCount) { evidence in
                states.initialize(repeating: .absent)
                evidence.initialize(repeating: (0, -1))
                withWords(in: text) { words, atoms in
                    judge(words, atoms, into: states.baseAddress!) { concept, first, last in evidence[concept] = (Int32(first), Int32(last)) }
                    var phrase: [UInt8] = []
                    for concept in 0..<conceptCount where states[concept] != .absent {
                        let (first, last) = evidence[concept]
                        phrase.removeAll(keepingCapacity: true)
                        for position in Int(first)..<Int(last) + 1 {
                            if position > Int(first) { phrase.append(UInt8(ascii: " ")) }
                            phrase.append(contentsOf: self.reading(of: words[position]))
                        }
                        if states[concept] == .active { active.insert(concept) }
                        phrase.withUnsafeBufferPointer { body(concept, states[concept], $0) }
                    }
                }
            }
        }
        return active
    }
}
