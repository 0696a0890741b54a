import Foundation
import XCTest
@testable import RulesEngine
import Support

/// The lexicon (`Lexicon`, the Lua `lexicon` module): concepts found by words rather than substrings — word
/// boundaries, aliases, one-slip spelling correction, wildcards, `...` gaps, the longest phrase winning — and
/// judged in context (negated within the window and clause, hypothetical within the sentence, resolved by a
/// cue after it in its sentence or the next, `negatable = false`, `hypothetical = false`, `resolvable = false`);
/// the `?` word, emoji, non-ASCII text, malformed and huge input; the errors a bad specification is refused with.
final class LexiconTests: XCTestCase {
    // MARK: Helpers

    /// A concept of the specification.
    private func concept(_ name: String, _ phrases: [String], negatable: Bool? = nil, hypothetical: Bool? = nil,
                         resolvable: Bool? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["name": .string(name), "phrases": .array(phrases.map(JSONValue.string))]
        if let negatable { members["negatable"] = .bool(negatable) }
        if let hypothetical { members["hypothetical"] = .bool(hypothetical) }
        if let resolvable { members["resolvable"] = .bool(resolvable) }
        return .object(members)
    }

    /// A lexicon of `concepts` with the other keys of `options`.
    private func lexicon(_ concepts: [JSONValue], _ options: [String: JSONValue] = [:]) throws -> Lexicon {
        var spec = options
        spec["concepts"] = .array(concepts)
        return try Lexicon(.object(spec))
    }

    /// Each concept `text` mentions → its state ("active", "negated", "hypothetical", "resolved").
    private func states(_ lexicon: Lexicon, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String: String] {
        var text = text
        let explanation = text.withUTF8 { lexicon.explain(UnsafeRawBufferPointer($0)) }
        let active = text.withUTF8 { lexicon.activeConcepts(UnsafeRawBufferPointer($0)) }
        // explain and scan agree on which concepts are active
        XCTAssertEqual(explanation.active, active, "explain and scan disagree on \(text.debugDescription)", file: file, line: line)
        return Dictionary(explanation.mentions.map { ($0.name, $0.state.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// The state of one concept in `text` ("absent" when not mentioned).
    private func state(_ lexicon: Lexicon, _ name: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        states(lexicon, text, file: file, line: line)[name] ?? "absent"
    }

    /// The words the lexicon reads `text` as (`lex:words`).
    private func words(_ lexicon: Lexicon, _ text: String) -> String {
        var text = text
        return text.withUTF8 { lexicon.normalizedWords(UnsafeRawBufferPointer($0)) }
    }

    private func words(_ lexicon: Lexicon, bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { lexicon.normalizedWords($0) }
    }

    /// The message a specification is refused with.
    private func buildError(_ spec: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try Lexicon(spec)
            XCTFail("expected the specification to be refused", file: file, line: line)
            return nil
        } catch {
            return error.description
        }
    }

    // MARK: Words

    func testPhrasesMatchWholeWordsNotSubstrings() throws {
        let lex = try lexicon([concept("ok", ["ok"]), concept("login", ["log in"])])
        XCTAssertEqual(state(lex, "ok", "I took it"), "absent", "ok is not a word of 'took'")
        XCTAssertEqual(state(lex, "ok", "tokens are OK"), "active")
        XCTAssertEqual(state(lex, "ok", "ok."), "active")
        XCTAssertEqual(state(lex, "ok", "okay"), "absent")
        XCTAssertEqual(state(lex, "login", "I cannot LOG IN"), "active")
        XCTAssertEqual(state(lex, "login", "blog input"), "absent", "log in is two words, not a substring of 'blog input'")
    }

    func testAliasesRewriteWordsOfMessagesAndPhrases() throws {
        let lex = try lexicon([concept("access", ["cannot login"]), concept("you", ["thank you"])],
                              ["aliases": ["u": "you", "cant": "cannot", "thx": "thank"]])
        XCTAssertEqual(words(lex, "u CANT login"), "you cannot login")
        XCTAssertEqual(state(lex, "access", "I cant login"), "active")
        XCTAssertEqual(state(lex, "access", "I cannot login"), "active")
        XCTAssertEqual(state(lex, "you", "thx u"), "active")
        XCTAssertEqual(state(lex, "access", "I can't login"), "absent", "can't is a word of its own with no alias here")
        // An alias is a whole word: "u" inside "cup" is not "you".
        XCTAssertEqual(words(lex, "cup"), "cup")
        // A phrase written with an alias means the word it stands for.
        let spelled = try lexicon([concept("access", ["cant login"])], ["aliases": ["cant": "cannot"]])
        XCTAssertEqual(state(spelled, "access", "I cannot login"), "active")
    }

    func testAnAliasMayStandForSeveralWords() throws {
        let lex = try lexicon([concept("access", ["could not access"]), concept("mpesa", ["nothing in my m-pesa"])],
                              ["aliases": ["couldn't": "could not", "mpesa": "m-pesa", "pesa": "money"]])
        XCTAssertEqual(words(lex, "I couldn't access it"), "i could not access it")
        XCTAssertEqual(state(lex, "access", "I couldn't access my account"), "active")
        XCTAssertEqual(state(lex, "access", "I could not access my account"), "active")
        // the words an alias gives are read through the aliases once more: mpesa → m pesa → m money, as the phrase
        XCTAssertEqual(words(lex, "mpesa"), "m money")
        XCTAssertEqual(state(lex, "mpesa", "nothing in my mpesa"), "active")
        XCTAssertEqual(state(lex, "mpesa", "nothing in my M-Pesa"), "active")
        // an alias replaces one word of a message: a key the splitter cuts in two could never match
        XCTAssertEqual(buildError(.object(["concepts": [concept("x", ["x"])], "aliases": ["m-pesa": "mpesa"]])),
                       "alias \"m-pesa\": an alias replaces one word of a message, and this is read as 2 (m pesa)")
        XCTAssertEqual(buildError(.object(["concepts": [concept("x", ["x"])], "aliases": ["u": "..."]])),
                       "alias \"u\" must map to at least one word")
    }

    func testCombiningMarksStayInTheirWord() throws {
        let lex = try lexicon([concept("cafe", ["café"]), concept("pin", ["pin"])])
        XCTAssertEqual(words(lex, "PİN"), "pin", "İ reads as i: one word, and the dot it lower-cases to is dropped")
        XCTAssertEqual(words(lex, "pi\u{307}n"), "pin")
        XCTAssertEqual(state(lex, "cafe", "cafe\u{301} tomorrow"), "active", "a decomposed é is composed first")
        XCTAssertEqual(words(lex, "re\u{301}sume\u{301}"), "résumé")
        XCTAssertEqual(words(lex, "\u{301}abc"), "abc", "a mark with no letter before it is no word")
    }

    func testOneSlipIsForgivenInWordsOfTheFuzzyMinimum() throws {
        let lex = try lexicon([concept("account", ["account"]), concept("refund", ["refund"]), concept("login", ["login"]),
                               concept("loan", ["loan"]), concept("pin", ["pin"])], ["fuzzy": 5])
        // a letter missing, one too many, two swapped
        for slip in ["acount", "accoount", "acocunt", "refnd", "reffund", "rfeund", "logn", "loginn", "lgoin"] {
            let expected = slip.hasPrefix("a") ? "account" : slip.hasPrefix("r") ? "refund" : "login"
            XCTAssertEqual(words(lex, slip), expected, slip)
            XCTAssertEqual(state(lex, expected, "my \(slip) please"), "active", slip)
        }
        // one letter wrong: only in words of seven letters or more, and only a key next to the right one
        XCTAssertEqual(words(lex, "accpunt"), "account", "p is next to o")
        XCTAssertEqual(words(lex, "accaunt"), "accaunt", "a is nowhere near o: a different word, not a slip")
        let swahili = try lexicon([concept("scammed", ["nimechezewa"])], ["fuzzy": 5])
        XCTAssertEqual(state(swahili, "scammed", "nimechelewa kulipa"), "absent", "I am late is not I was scammed")
        XCTAssertEqual(words(lex, "refand"), "refand", "a wrong letter in a six-letter word is another word")
        XCTAssertEqual(state(lex, "refund", "refand"), "absent")
        // two slips are not one
        XCTAssertEqual(words(lex, "acont"), "acont")
        XCTAssertEqual(words(lex, "acuont"), "acuont")
        // words shorter than the minimum are never corrected
        XCTAssertEqual(words(lex, "lon"), "lon")
        XCTAssertEqual(words(lex, "laon"), "laon")
        XCTAssertEqual(words(lex, "pinn"), "pinn")
        XCTAssertEqual(state(lex, "loan", "my laon"), "absent")
        // capitals are folded first
        XCTAssertEqual(words(lex, "ACOUNT"), "account")
        // without `fuzzy`, nothing is corrected
        let exact = try lexicon([concept("account", ["account"])])
        XCTAssertEqual(words(exact, "acount"), "acount")
        XCTAssertEqual(state(exact, "account", "acount"), "absent")
    }

    func testWildcardsMatchPrefixesSuffixesAndInfixes() throws {
        let lex = try lexicon([concept("rejected", ["loan reject*"]), concept("paid", ["*lipa"]), concept("blocked", ["*block*"])],
                              ["words": ["rejected"], "fuzzy": 5])
        for text in ["loan rejected", "LOAN REJECTION", "loan reject"] { XCTAssertEqual(state(lex, "rejected", text), "active", text) }
        XCTAssertEqual(state(lex, "rejected", "loan prereject"), "absent", "a prefix pattern anchors at the start")
        XCTAssertEqual(state(lex, "rejected", "loan rejcted"), "active", "a prefix may match the corrected word")
        for text in ["nimelipa", "nililipa", "LIPA"] { XCTAssertEqual(state(lex, "paid", text), "active", text) }
        XCTAssertEqual(state(lex, "paid", "lipaa"), "absent", "a suffix pattern anchors at the end")
        XCTAssertEqual(state(lex, "paid", "kulipwa"), "absent")
        for text in ["imeblockiwa", "blocked", "unblock", "block", "blockblock"] {
            XCTAssertEqual(state(lex, "blocked", text), "active", text)
        }
        XCTAssertEqual(state(lex, "blocked", "blok"), "absent")
        XCTAssertEqual(state(lex, "blocked", "blo ck"), "absent")
    }

    func testAGapSkipsUpToThreeWords() throws {
        let lex = try lexicon([concept("not_received", ["not ... received"])])
        XCTAssertEqual(state(lex, "not_received", "not received"), "active")
        XCTAssertEqual(state(lex, "not_received", "not yet received"), "active")
        XCTAssertEqual(state(lex, "not_received", "not one two three received"), "active")
        XCTAssertEqual(state(lex, "not_received", "not one two three four received"), "absent", "four words are too many")
        XCTAssertEqual(state(lex, "not_received", "received not"), "absent")
        var text = "I have not yet received it"
        let explained = try XCTUnwrap(text.withUTF8 { lex.explain(UnsafeRawBufferPointer($0)) }.mentions.first)
        XCTAssertEqual(explained.words, "not yet received", "the evidence is the words the phrase covered")
    }

    func testTheLongestPhraseWinsBetweenConcepts() throws {
        let lex = try lexicon([concept("late", ["late"]), concept("fee", ["late fee"]), concept("stolen", ["stolen"]),
                               concept("stock", ["stolen stock", "stock"])])
        XCTAssertEqual(states(lex, "why a late fee"), ["fee": "active"], "late inside late fee is part of the fee")
        XCTAssertEqual(states(lex, "I am late"), ["late": "active"])
        XCTAssertEqual(states(lex, "late, and a late fee"), ["late": "active", "fee": "active"])
        XCTAssertEqual(states(lex, "stolen stock"), ["stock": "active"])
        XCTAssertEqual(states(lex, "stolen phone and stock"), ["stolen": "active", "stock": "active"])
    }

    // MARK: Context

    private func contextLexicon() throws -> Lexicon {
        try lexicon([
            concept("blocked", ["blocked"]),
            concept("locked", ["locked"], negatable: false),
            concept("stolen", ["stolen"]),
            concept("threat", ["kill"], hypothetical: false),
        ], [
            "negation": ["not", "never"], "negation_window": 3,
            "hypothetical": ["what if"], "resolution": ["works now"], "boundaries": ["but"],
        ])
    }

    func testANegationWithinTheWindowAndClauseNegates() throws {
        let lex = try contextLexicon()
        XCTAssertEqual(state(lex, "blocked", "my account is not blocked"), "negated")
        XCTAssertEqual(state(lex, "blocked", "never blocked"), "negated")
        XCTAssertEqual(state(lex, "blocked", "not one two blocked"), "negated", "three words ahead: within the window of 3")
        XCTAssertEqual(state(lex, "blocked", "not one two three blocked"), "active", "four words ahead: beyond the window")
        XCTAssertEqual(state(lex, "blocked", "not sure, blocked"), "active", "a comma ends the negation's clause")
        XCTAssertEqual(state(lex, "blocked", "not sure; blocked"), "active")
        XCTAssertEqual(state(lex, "blocked", "not sure but blocked"), "active", "a boundary word ends the clause too")
        XCTAssertEqual(state(lex, "blocked", "not. blocked"), "active")
        XCTAssertEqual(state(lex, "blocked", "blocked, not"), "active", "a negation after the concept does not reach it")
        XCTAssertEqual(state(lex, "blocked", "not blocked. blocked"), "active", "one plain mention is enough")
        // without the boundary cue, the same words negate
        let plain = try lexicon([concept("blocked", ["blocked"])], ["negation": ["not"], "negation_window": 3])
        XCTAssertEqual(state(plain, "blocked", "not sure but blocked"), "negated")
        // the default window is 4 words
        let defaults = try lexicon([concept("blocked", ["blocked"])], ["negation": ["not"]])
        XCTAssertEqual(state(defaults, "blocked", "not one two three blocked"), "negated")
        XCTAssertEqual(state(defaults, "blocked", "not one two three four blocked"), "active")
    }

    func testAHypotheticalCountsInItsOwnSentenceOnly() throws {
        let lex = try contextLexicon()
        XCTAssertEqual(state(lex, "stolen", "what if my phone is stolen"), "hypothetical")
        XCTAssertEqual(state(lex, "stolen", "what if, say, my phone gets stolen"), "hypothetical", "a comma does not end a sentence")
        XCTAssertEqual(state(lex, "stolen", "what if I pay late. My phone is stolen"), "active")
        XCTAssertEqual(state(lex, "stolen", "what if I pay late? My phone is stolen"), "active")
        XCTAssertEqual(state(lex, "stolen", "what if I pay late\nmy phone is stolen"), "active", "a line break ends a sentence")
        XCTAssertEqual(state(lex, "stolen", "my phone is stolen, what if"), "active", "the cue must come first")
    }

    func testAResolutionAfterTheConceptResolvesIt() throws {
        let lex = try contextLexicon()
        XCTAssertEqual(state(lex, "blocked", "my account was blocked but it works now"), "resolved")
        XCTAssertEqual(state(lex, "blocked", "blocked yesterday. It works now."), "resolved", "the next sentence")
        XCTAssertEqual(state(lex, "blocked", "blocked yesterday. I waited. It works now."), "active", "two sentences on: another matter")
        XCTAssertEqual(state(lex, "blocked", "it works now. Now my card is blocked"), "active", "a cue before, in another clause")
        XCTAssertEqual(state(lex, "blocked", "works now blocked"), "resolved", "a cue before it in the same clause")
        // a negation is read before a resolution
        XCTAssertEqual(state(lex, "blocked", "not blocked and it works now"), "negated")
    }

    func testANegatedResolutionResolvesNothing() throws {
        let lex = try contextLexicon()
        XCTAssertEqual(state(lex, "blocked", "my account is blocked, it is not working now"), "active")
        XCTAssertEqual(state(lex, "blocked", "blocked, it never works now"), "active")
        XCTAssertEqual(state(lex, "blocked", "blocked, but not anymore: it works now"), "resolved", "a negation in another clause")
    }

    func testALongMessageIsReadWhole() throws {
        // 20,000 bytes of alternating problems and resolutions: every check looks only at what can reach it, so
        // this is as quick as any 20,000 bytes of text (it once took seconds: every pair of occurrences, every cue).
        let lex = try contextLexicon()
        let text = String(repeating: "blocked but it works now. ", count: 770) + "blocked again"
        XCTAssertEqual(state(lex, "blocked", text), "active", "the last one is not resolved")
        XCTAssertEqual(state(lex, "blocked", String(repeating: "blocked but it works now. ", count: 770)), "resolved")
    }

    func testNegatableAndHypotheticalOptions() throws {
        let lex = try contextLexicon()
        XCTAssertEqual(state(lex, "blocked", "not blocked"), "negated")
        XCTAssertEqual(state(lex, "locked", "not locked"), "active", "negatable = false")
        XCTAssertEqual(state(lex, "stolen", "what if I get stolen"), "hypothetical")
        XCTAssertEqual(state(lex, "threat", "what if I kill"), "active", "hypothetical = false")
        XCTAssertEqual(state(lex, "threat", "never kill"), "negated", "hypothetical = false still negates")
        // a concept whose own phrase carries the negation
        let carried = try lexicon([concept("not_received", ["not ... received"], negatable: false), concept("blocked", ["blocked"])],
                                  ["negation": ["not"]])
        XCTAssertEqual(states(carried, "I have not received it"), ["not_received": "active"])
        XCTAssertEqual(states(carried, "not received and blocked"), ["not_received": "active", "blocked": "active"],
                       "a cue inside another concept's phrase is not a cue")
        XCTAssertEqual(states(carried, "not blocked"), ["blocked": "negated"])
    }

    func testResolvableFalseAndCuesOverlappingConceptPhrases() throws {
        let lex = try lexicon([
            concept("blocked", ["blocked"]),
            concept("paid", ["paid"], resolvable: false),
            concept("money", ["money"], negatable: false),
            concept("not_received", ["haven't received"], negatable: false),
            concept("works", ["it works"], negatable: false, resolvable: false),
        ], ["resolution": ["works now", "received the money", "received it"]])
        XCTAssertEqual(state(lex, "paid", "I paid but it works now"), "active", "resolvable = false: good news is not resolved")
        XCTAssertEqual(state(lex, "blocked", "I was blocked but it works now"), "resolved",
                       "\"works now\" overlaps the good news \"it works\" (resolvable = false) and stays a cue")
        // A cue partly overlapping a phrase that carries its own negation is part of that phrase...
        XCTAssertEqual(states(lex, "blocked and I haven't received it"), ["blocked": "active", "not_received": "active"])
        // ...but a cue covering a whole concept phrase stays a cue.
        XCTAssertEqual(state(lex, "blocked", "blocked, but I received the money"), "resolved")
    }

    // MARK: Odd input

    func testTheQuestionMarkIsAWordAndEndsTheSentence() throws {
        let lex = try lexicon([concept("question", ["?"]), concept("why", ["why ?"]), concept("stolen", ["stolen"])],
                              ["hypothetical": ["what if"]])
        XCTAssertEqual(words(lex, "why???  now"), "why ? now")
        XCTAssertEqual(words(lex, "is it?is it"), "is it ? is it")
        XCTAssertEqual(state(lex, "question", "is it blocked?"), "active")
        XCTAssertEqual(state(lex, "question", "it is blocked."), "absent")
        XCTAssertEqual(state(lex, "why", "WHY??"), "active")
        XCTAssertEqual(state(lex, "stolen", "what if? stolen"), "active")
    }

    func testEmojiAreWordsOfTheirOwn() throws {
        let lex = try lexicon([concept("thanks", ["asante", "🙏"]), concept("like", ["👍"])])
        XCTAssertEqual(words(lex, "asante🙏🙏"), "asante 🙏 🙏")
        XCTAssertEqual(words(lex, "ok👍ok"), "ok 👍 ok")
        XCTAssertEqual(state(lex, "thanks", "🙏"), "active")
        XCTAssertEqual(state(lex, "like", "great👍"), "active")
        XCTAssertEqual(state(lex, "like", "great"), "absent")
    }

    func testNonASCIITextAndCapitals() throws {
        let lex = try lexicon([concept("paid", ["nimelipa", "*lipa deni"]), concept("access", ["i cannot login"]),
                               concept("ok", ["ok"]), concept("cafe", ["café"]), concept("sent", ["nimetuma"])],
                              ["fuzzy": 5])
        XCTAssertEqual(state(lex, "paid", "NIMELIPA jana"), "active")
        XCTAssertEqual(state(lex, "paid", "Nililipa DENI yote"), "active")
        XCTAssertEqual(state(lex, "access", "\u{130} CANNOT LOGIN"), "active", "İ reads as i")
        XCTAssertEqual(state(lex, "ok", "O\u{212A}"), "active", "the Kelvin sign lower-cases to k")
        XCTAssertEqual(words(lex, "O\u{212A}"), "ok")
        XCTAssertEqual(state(lex, "cafe", "CAFÉ"), "active")
        XCTAssertEqual(words(lex, "Ωμέγα’s café"), "ωμέγα's café", "a curly apostrophe inside a word is kept as '")
        XCTAssertEqual(state(lex, "sent", "nimetma"), "active", "Swahili words are corrected like any other")
        XCTAssertEqual(words(lex, "nimel\u{ED}pa"), "nimel\u{ED}pa", "spelling correction leaves non-ASCII words alone")
    }

    func testMalformedEmptyAndHugeInput() throws {
        let lex = try lexicon([concept("blocked", ["blocked"]), concept("thanks", ["thanks"])], ["fuzzy": 5, "negation": ["not"]])
        // Invalid UTF-8: a malformed byte separates words, as the replacement character would.
        let malformed: [UInt8] = [0xFF] + Array("BLOCKED".utf8) + [0xC3, 0x20, 0xE2, 0x82] + Array("thanks".utf8) + [0xF0, 0x9F]
        XCTAssertEqual(words(lex, bytes: malformed), "blocked thanks")
        XCTAssertEqual(malformed.withUnsafeBytes { lex.explain($0) }.mentions.map(\.name), ["blocked", "thanks"])
        XCTAssertEqual(words(lex, bytes: Array("bl".utf8) + [0x80] + Array("ocked".utf8)), "bl ocked")
        XCTAssertEqual(words(lex, bytes: [0xED, 0xA0, 0x80]), "", "an encoded surrogate is no letter")
        // Empty.
        XCTAssertEqual(words(lex, ""), "")
        XCTAssertEqual(states(lex, ""), [:])
        XCTAssertEqual(words(lex, bytes: []), "")
        // A megabyte: ordinary words with the concept at both ends, then one enormous word, then only emoji.
        var huge = "not blocked "
        while huge.utf8.count < 1_000_000 { huge += "the quick brown fox jumps over the lazy dog, again and again. " }
        huge += "thanks"
        XCTAssertEqual(states(lex, huge), ["blocked": "negated", "thanks": "active"])
        let oneWord = String(repeating: "blocked", count: 150_000)
        XCTAssertEqual(states(lex, oneWord), [:])
        XCTAssertEqual(words(lex, oneWord).utf8.count, oneWord.utf8.count)
        let emoji = String(repeating: "🙏", count: 250_000)
        XCTAssertEqual(words(lex, emoji).split(separator: " ").count, 250_000)
    }

    // MARK: Build errors

    func testBadSpecificationsAreRefusedWithAClearMessage() throws {
        XCTAssertEqual(buildError(["concepts": []]), "concepts must be a list of { name = ..., phrases = {...} }")
        XCTAssertEqual(buildError(["aliases": ["u": "you"]]), "concepts must be a list of { name = ..., phrases = {...} }")
        XCTAssertEqual(buildError(["concepts": [concept("refused", ["re*"])]]),
                       "concept refused: \"re*\" needs at least 3 letters besides * (and * only at its ends)")
        XCTAssertEqual(buildError(["concepts": [concept("odd", ["*bl*ock"])]]),
                       "concept odd: \"*bl*ock\" needs at least 3 letters besides * (and * only at its ends)")
        XCTAssertEqual(buildError(["concepts": [concept("gap", ["... received"])]]),
                       "concept gap: the phrase \"... received\" has no words (or starts or ends with ...)")
        XCTAssertEqual(buildError(["concepts": [concept("gap", ["not ..."])]]),
                       "concept gap: the phrase \"not ...\" has no words (or starts or ends with ...)")
        XCTAssertEqual(buildError(["concepts": [concept("empty", ["?!"])], "negation": ["!!"]]),
                       "negation: the phrase \"!!\" has no words (or starts or ends with ...)")
        XCTAssertEqual(buildError(["concepts": [["phrases": ["x"]]]]), "concept 1 needs a name")
        XCTAssertEqual(buildError(["concepts": [["name": "x", "phrases": "x"]]]), "concept x: phrases must be a list of strings")
        XCTAssertEqual(buildError(["concepts": [concept("x", ["x"])], "aliases": ["u": 1]]), "alias u must map to words")
        let many = (0...256).map { concept("c\($0)", ["word\($0)"]) }
        XCTAssertEqual(buildError(["concepts": .array(many)]), "257 concepts (at most 256)")
        XCTAssertNoThrow(try Lexicon(["concepts": .array(Array(many.prefix(256)))]), "256 concepts are allowed")
        XCTAssertEqual(buildError(["concepts": [concept("a", ["a"])],
                                   "intents": [["name": "x", "level": 3, "when": ["a", "nope"]]]]),
                       "intent \"x\": unknown concept nope")
        XCTAssertEqual(buildError(["concepts": [concept("a", ["a"])], "intents": [["name": "x", "level": 3, "when": ["a"]]],
                                   "minor": ["b"]]),
                       "minor: unknown concept b")
    }

    // MARK: Through Lua

    func testTheLuaModuleCompilesOnceAndReadsMessages() throws {
        let scorer = try scorer(urgency: """
            local concepts = {
              { name = "blocked", phrases = { "*block*" } },
              { name = "thanks", phrases = { "thanks", "🙏" } },
            }
            for i = 3, 70 do concepts[i] = { name = "c" .. i, phrases = { "word" .. i } } end
            local lex = lexicon.compile{
              concepts = concepts, aliases = { thx = "thanks" }, negation = { "not" },
              intents = {
                { name = "blocked", level = 5, when = { "blocked" } },
                { name = "c64 and c70", level = 3, when = { { "c64", "c70" } } },
                { name = "thanks", level = 1, when = { "thanks" }, weak = true },
              },
              minor = { "thanks" },
            }
            function score(message, ctx)
              local chosen, a, b = lex:classify(message.text)
              local read_chosen, counting, mentions = lex:read(message.text)
              local s1, s2 = lex:scan(message.text)
              return chosen or 0, {
                masks = { a, b }, scan = { s1, s2 }, read = read_chosen or 0, counting = counting, mentions = mentions,
                intents = lex:intents(message.text), explain = lex:explain(message.text), words = lex:words(message.text),
              }
            end
            """)
        let blocked = try scorer.score(ScoringInput(text: "Imeblockiwa, thx 🙏"))
        XCTAssertEqual(blocked.value, 1, "the only intent besides thanks: blocked")
        let rules = try XCTUnwrap(blocked.breakdown?.rules)
        XCTAssertEqual(rules["words"], "imeblockiwa thanks 🙏")
        XCTAssertEqual(rules["explain"], "blocked=active:imeblockiwa|thanks=active:🙏")
        XCTAssertEqual(rules["intents"], "1,3")
        XCTAssertEqual(rules["counting"], "1,3")
        XCTAssertEqual(rules["read"], 1)
        XCTAssertEqual(rules["masks"], [3, 0], "concepts 1 and 2 are bits 0 and 1 of the first mask")
        XCTAssertEqual(rules["scan"], [3, 0])

        let thanks = try scorer.score(ScoringInput(text: "not blocked, thanks"))
        XCTAssertEqual(thanks.value, 3, "the weak intent: nothing else is active")
        XCTAssertEqual(thanks.breakdown?.rules["explain"], "blocked=negated:blocked|thanks=active:thanks")

        // Concept 64 is the top bit of the first mask, concept 70 bit 5 of the second.
        let high = try scorer.score(ScoringInput(text: "word70 word64"))
        XCTAssertEqual(high.value, 2)
        XCTAssertEqual(high.breakdown?.rules["masks"], [.integer(Int64.min), 32])
        let nothing = try scorer.score(ScoringInput(text: "nothing here"))
        XCTAssertEqual(nothing.value, 0)
        XCTAssertEqual(nothing.breakdown?.rules["read"], 0)
        XCTAssertEqual(nothing.breakdown?.rules["intents"], "")
        XCTAssertEqual(nothing.breakdown?.rules["explain"], "")

        // Strings longer than the host's reusable return block, next to short ones, in one evaluation and the next.
        let long = Array(repeating: "thx blocked", count: 1_000).joined(separator: " ")
        for _ in 0..<2 {
            let many = try XCTUnwrap(try scorer.score(ScoringInput(text: long)).breakdown?.rules)
            XCTAssertEqual(many["words"], .string(Array(repeating: "thanks blocked", count: 1_000).joined(separator: " ")))
            XCTAssertEqual(many["explain"], "blocked=active:blocked|thanks=active:thanks")
            XCTAssertEqual(many["counting"], "1,3")
        }
    }

    func testTheLuaModuleReportsBuildErrorsWhereTheRulesCompileThem() throws {
        let cases: [(source: String, error: String)] = [
            ("lexicon.compile{ concepts = {} }", "lexicon.compile: concepts must be a list"),
            ("lexicon.compile{ concepts = { { name = 'x', phrases = { 'ab*' } } } }",
             "lexicon.compile: concept x: \"ab*\" needs at least 3 letters besides *"),
            ("lexicon.compile{ concepts = { { name = 'x', phrases = { '... x' } } } }",
             "lexicon.compile: concept x: the phrase \"... x\" has no words (or starts or ends with ...)"),
            ("local c = {} for i = 1, 257 do c[i] = { name = 'c' .. i, phrases = { 'w' .. i } } end\nlexicon.compile{ concepts = c }",
             "lexicon.compile: 257 concepts (at most 256)"),
            ("lexicon.compile{ concepts = { { name = 'x', phrases = { 'x' } } }, intents = { { name = 'i', level = 2, when = { 'y' } } } }",
             "lexicon.compile: intent \"i\": unknown concept y"),
            ("lexicon.compile('x')", "lexicon.compile: expected a table"),
        ]
        for (source, expected) in cases {
            let error = loadError(["urgency.lua": source + "\nfunction score() return 1 end\n"])
            XCTAssertTrue(error?.description.contains(expected) ?? false, "\(source): \(error.map { "\($0)" } ?? "loaded")")
            XCTAssertTrue(error?.description.contains("urgency.lua:") ?? false, "the error names the rule file: \(error.map { "\($0)" } ?? "")")
        }
        // A lexicon without intents cannot classify.
        let plain = try scorer(urgency: """
            local lex = lexicon.compile{ concepts = { { name = 'x', phrases = { 'x' } } } }
            function score(m) if m.text ~= 'x' then return 1 end return lex:classify(m.text) or 1 end
            """)
        let error = scoringError(plain, "x")
        XCTAssertTrue(error?.description.contains("classify: the lexicon declares no intents") ?? false, "\(error.map { "\($0)" } ?? "")")
    }
}
