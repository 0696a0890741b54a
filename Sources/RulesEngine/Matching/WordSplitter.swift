/// Cuts text into words, and words into clauses and sentences, the way the lexicon reads a message: runs of
/// letters and digits (and the combining marks that follow them: "café" typed decomposed; the dot İ lower-cases
/// to is dropped, "PİN" reads as "pin"), with apostrophes
/// (' ’ ‘ `) inside a word kept as '; a question mark is a word of its own
/// and ends the sentence; emoji are words of their own; clauses end at , ; : ( ) and at sentence ends;
/// sentences at . ! ? … and line breaks.
enum WordSplitter {
    /// A word of text with the clause and sentence it stands in.
    struct RawWord {
        var bytes: [UInt8]
        var clause: Int32
        var sentence: Int32
    }

    /// A word of a message as a range of a byte buffer, with its clause and sentence.
    struct Span {
        var start: Int32
        var length: Int32
        var clause: Int32
        var sentence: Int32
    }

    /// The words of lower-cased text. With `patterns` (phrase syntax), `*` may begin or end a word, and `...` and
    /// `#` are words of their own.
    static func split(_ folded: String, patterns: Bool = false) -> [RawWord] {
        var out: [RawWord] = []
        var current: [UInt8] = []
        var clause: Int32 = 0, sentence: Int32 = 0
        var apostrophe = false
        var dots = 0
        func flush() {
            if !current.isEmpty { out.append(RawWord(bytes: current, clause: clause, sentence: sentence)) }
            current.removeAll(keepingCapacity: true)
            apostrophe = false
        }
        for scalar in folded.unicodeScalars {
            let value = scalar.value
            if patterns && value == 0x2E {  // "..." in a phrase
                dots += 1
                if dots == 3 {
                    flush()
                    out.append(RawWord(bytes: Array("...".utf8), clause: clause, sentence: sentence))
                    dots = 0
                }
                continue
            }
            dots = 0
            if (value >= 0x61 && value <= 0x7A) || (value >= 0x30 && value <= 0x39)
                || (value >= 0x80 && (scalar.properties.isAlphabetic || scalar.properties.numericType != nil)) {
                if apostrophe { current.append(UInt8(ascii: "'")) }
                apostrophe = false
                current.append(contentsOf: String(scalar).utf8)
                continue
            }
            if !current.isEmpty && !apostrophe && WordSplitter.isMark(scalar) {  // a combining mark stays with its letter
                if !(value == 0x307 && current.last == 0x69) { current.append(contentsOf: String(scalar).utf8) }  // İ → i
                continue
            }
            if value >= 0x2190 && scalar.properties.isEmoji {  // 👍 🙏: a word of its own
                flush()
                out.append(RawWord(bytes: Array(String(scalar).utf8), clause: clause, sentence: sentence))
                continue
            }
            switch value {
            case 0x27, 0x2019, 0x2018, 0x60:
                apostrophe = !current.isEmpty
            case 0x2A where patterns:
                current.append(UInt8(ascii: "*"))
            case 0x23 where patterns:  // "#": any number, a word of its own
                flush()
                out.append(RawWord(bytes: [0x23], clause: clause, sentence: sentence))
            case 0x3F:
                flush()
                if out.last?.bytes != [0x3F] { out.append(RawWord(bytes: [0x3F], clause: clause, sentence: sentence)) }
                sentence += 1
                clause += 1
            case 0x2E, 0x21, 0x0A, 0x2026:
                flush()
                if out.last.map({ $0.sentence == sentence }) ?? false { sentence += 1; clause += 1 }
            case 0x2C, 0x3B, 0x3A, 0x28, 0x29:
                flush()
                if out.last.map({ $0.clause == clause }) ?? false { clause += 1 }
            default:
                flush()
            }
        }
        flush()
        return out
    }

    /// Whether `scalar` is a combining mark (general categories Mn, Mc, Me).
    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    /// How many bytes `splitBytes` may write for a text of `count` bytes (a lower-case letter can take more
    /// bytes than its capital: U+023A Ⱥ is 2 bytes, ⱥ 3).
    static func capacity(forBytes count: Int) -> Int { count + count / 2 + 4 }

    /// `split(lowercased(text))` without building strings: the lower-cased words go to `bytes` (room for
    /// `capacity(forBytes: text.count)`) and their spans to `spans` (room for `text.count`); returns the number
    /// of spans. A malformed UTF-8 byte separates words, as the replacement character it decodes to does.
    static func splitBytes(_ text: UnsafeRawBufferPointer, bytes: UnsafeMutablePointer<UInt8>,
                           spans: UnsafeMutablePointer<Span>) -> Int {
        var sawMark = false
        return splitBytes(text, bytes: bytes, spans: spans, sawMark: &sawMark)
    }

    /// `splitBytes`, also saying whether the text has a combining mark (then it may need composing first).
    static func splitBytes(_ text: UnsafeRawBufferPointer, bytes: UnsafeMutablePointer<UInt8>,
                           spans: UnsafeMutablePointer<Span>, sawMark: inout Bool) -> Int {
        var written = 0, count = 0
        var wordStart = 0
        var clause: Int32 = 0, sentence: Int32 = 0
        var apostrophe = false
        // the last word's clause and sentence (-1: no word yet), and whether it was a question mark
        var lastClause: Int32 = -1, lastSentence: Int32 = -1, lastWasQuestion = false
        @inline(__always) func flush() {
            if written > wordStart {
                spans[count] = Span(start: Int32(truncatingIfNeeded: wordStart), length: Int32(truncatingIfNeeded: written &- wordStart),
                                    clause: clause, sentence: sentence)
                count &+= 1
                lastClause = clause
                lastSentence = sentence
                lastWasQuestion = false
            }
            wordStart = written
            apostrophe = false
        }
        @inline(__always) func letter(_ byte: UInt8) {
            if apostrophe {
                bytes[written] = UInt8(ascii: "'")
                written &+= 1
                apostrophe = false
            }
            bytes[written] = byte
            written &+= 1
        }
        /// Writes the UTF-8 bytes of `value`, the first through `letter` when `startsLetter`.
        func write(_ value: UInt32, startsLetter: Bool) {
            var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
            let n = CaseFolding.encode(value, into: &utf8)
            if startsLetter { letter(utf8.0) } else { bytes[written] = utf8.0; written &+= 1 }
            if n > 1 { bytes[written] = utf8.1; written &+= 1 }
            if n > 2 { bytes[written] = utf8.2; written &+= 1 }
            if n > 3 { bytes[written] = utf8.3; written &+= 1 }
        }
        /// A non-ASCII scalar, already lower-cased.
        func scalar(_ value: UInt32) {
            guard let scalar = Unicode.Scalar(value) else { return flush() }
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil { return write(value, startsLetter: true) }
            let isMark = WordSplitter.isMark(scalar)
            if isMark { sawMark = true }
            if written > wordStart && !apostrophe && isMark {  // a combining mark stays with its letter
                if value == 0x307 && bytes[written - 1] == 0x69 { return }  // İ (i and a dot above) reads as i
                return write(value, startsLetter: false)
            }
            if value >= 0x2190 && scalar.properties.isEmoji {  // 👍 🙏: a word of its own
                flush()
                write(value, startsLetter: false)
                return flush()
            }
            switch value {
            case 0x2019, 0x2018:
                apostrophe = written > wordStart
            case 0x2026:
                flush()
                if lastSentence == sentence { sentence &+= 1; clause &+= 1 }
            default:
                flush()
            }
        }
        var i = 0
        let end = text.count
        while i < end {
            let byte = text[i]
            if byte >= 0x80 {
                let (value, length) = CaseFolding.decode(text, at: i)
                if length == 0 {
                    flush()
                    i &+= 1
                    continue
                }
                if let lowered = CaseFolding.lowercase(scalar: value) {
                    if lowered < 0x80 { letter(UInt8(lowered)) } else { scalar(lowered) }  // K (Kelvin) → k
                } else {
                    letter(0x69)  // İ → i, U+0307
                    scalar(0x307)
                }
                i &+= length
                continue
            }
            i &+= 1
            let lowered = byte &- 0x41 < 26 ? byte | 0x20 : byte
            if lowered &- 0x61 < 26 || lowered &- 0x30 < 10 {
                letter(lowered)
                continue
            }
            switch lowered {
            case 0x27, 0x60:
                apostrophe = written > wordStart
            case 0x3F:
                flush()
                if !lastWasQuestion {
                    bytes[written] = 0x3F
                    spans[count] = Span(start: Int32(truncatingIfNeeded: written), length: 1, clause: clause, sentence: sentence)
                    written &+= 1
                    count &+= 1
                    wordStart = written
                    lastClause = clause
                    lastSentence = sentence
                    lastWasQuestion = true
                }
                sentence &+= 1
                clause &+= 1
            case 0x2E, 0x21, 0x0A:
                flush()
                if lastSentence == sentence { sentence &+= 1; clause &+= 1 }
            case 0x2C, 0x3B, 0x3A, 0x28, 0x29:
                flush()
                if lastClause == clause { clause &+= 1 }
            default:
                flush()
            }
        }
        flush()
        return count
    }
}
