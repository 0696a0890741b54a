/// Python's `str.lower()` as UTF-8 bytes in, UTF-8 bytes out: the case folding keyword tiers match under.
///
/// Full Unicode lower-case mapping per scalar (so `İ` becomes `i̇` and the Kelvin sign `k`, exactly as in
/// Python); ASCII takes a table lookup. Python's one context-dependent rule (a final capital sigma becomes
/// `ς`) is not applied: it can only matter to keywords that contain a sigma. Invalid UTF-8 bytes pass
/// through unchanged.
enum CaseFolding {
    /// ASCII lower-casing table.
    static let asciiLower: [UInt8] = (0..<256).map { byte in
        (65...90).contains(byte) ? UInt8(byte + 32) : UInt8(byte)
    }

    /// Lower-case mappings of the non-ASCII scalars that change, in pages of 256 scalars
    /// (nil page: nothing in it changes). A mapped value of `multiScalar` stands for "İ" → "i̇".
    /// Built from `casedPages` only: asking every scalar below U+1F000 took ~4 ms of every rules load.
    private static let pages: [[UInt32]?] = {
        var pages = [[UInt32]?](repeating: nil, count: pageCount)
        for page in casedPages {
            pages[page] = mappings(ofPage: page)
        }
        return pages
    }()

    /// The pages of 256 scalars (U+0000–U+00FF is page 0) that hold a scalar whose lower case differs:
    /// Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, letterlike and enclosed forms, Glagolitic, Coptic,
    /// fullwidth forms, Deseret, Osage, Vithkuqi, Old Hungarian, Garay, Warang Citi, Medefaidrin, Adlam.
    /// `CaseFoldingTests` checks against every scalar that no other page has one (a new Unicode version may add one).
    static let casedPages: [Int] = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x13, 0x1C, 0x1E, 0x1F, 0x21, 0x24, 0x2C,
                                    0xA6, 0xA7, 0xFF, 0x104, 0x105, 0x10C, 0x10D, 0x118, 0x16E, 0x1E9]

    /// One page's mappings from Unicode's properties (each scalar to itself when unchanged), or nil when nothing
    /// in it changes.
    static func mappings(ofPage page: Int) -> [UInt32]? {
        var mapped: [UInt32]?
        for value in max(UInt32(0x80), UInt32(page) << 8)..<(UInt32(page + 1) << 8) {
            guard let scalar = Unicode.Scalar(value), scalar.properties.changesWhenLowercased else { continue }
            let lowered = Array(scalar.properties.lowercaseMapping.unicodeScalars)
            if mapped == nil { mapped = (0..<256).map { (UInt32(page) << 8) | UInt32($0) } }
            mapped?[Int(value & 0xFF)] = lowered.count == 1 ? lowered[0].value : multiScalar
        }
        return mapped
    }

    static let pageCount = 0x1F0  // no scalar at or above U+1F000 has a lower-case mapping
    private static let multiScalar: UInt32 = 0xFFFF_FFFF

    /// The lower-case bytes of `bytes`, fed one by one to `sink`. Returns early when `sink` returns false.
    @inline(__always)
    static func forEachLoweredByte(_ bytes: UnsafeRawBufferPointer, _ sink: (UInt8) -> Bool) {
        let count = bytes.count
        var i = 0
        while i < count {
            let byte = bytes[i]
            if byte < 0x80 {
                if !sink(asciiLower[Int(byte)]) { return }
                i += 1
                continue
            }
            let (scalar, length) = decode(bytes, at: i)
            guard length > 0 else {
                if !sink(byte) { return }
                i += 1
                continue
            }
            let page = Int(scalar >> 8)
            let mapped: UInt32 = page < pageCount ? (pages[page]?[Int(scalar & 0xFF)] ?? scalar) : scalar
            if mapped == scalar {
                for k in 0..<length where !sink(bytes[i + k]) { return }
            } else if mapped == multiScalar {  // U+0130 → "i" U+0307
                if !sink(0x69) || !sink(0xCC) || !sink(0x87) { return }
            } else {
                var utf8: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
                let n = encode(mapped, into: &utf8)
                if !sink(utf8.0) { return }
                if n > 1, !sink(utf8.1) { return }
                if n > 2, !sink(utf8.2) { return }
                if n > 3, !sink(utf8.3) { return }
            }
            i += length
        }
    }

    /// The lower-case mapping of one non-ASCII scalar: the scalar it maps to (itself when unchanged), or nil for
    /// U+0130, which maps to two ("i" and U+0307).
    @inline(__always)
    static func lowercase(scalar: UInt32) -> UInt32? {
        let page = Int(scalar >> 8)
        let mapped: UInt32 = page < pageCount ? (pages[page]?[Int(scalar & 0xFF)] ?? scalar) : scalar
        return mapped == multiScalar ? nil : mapped
    }

    /// The lower-cased form of `text`, as Python's `str.lower()` gives it (see the type's note on sigma).
    static func lowercased(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var text = text
        text.withUTF8 { bytes in
            forEachLoweredByte(UnsafeRawBufferPointer(bytes)) { out.append($0); return true }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes one well-formed UTF-8 sequence at `i`: (scalar, length), or length 0 when malformed.
    @inline(__always)
    static func decode(_ b: UnsafeRawBufferPointer, at i: Int) -> (UInt32, Int) {
        let c = UInt32(b[i])
        let n = b.count
        func cont(_ k: Int) -> UInt32? {
            guard i + k < n, b[i + k] & 0xC0 == 0x80 else { return nil }
            return UInt32(b[i + k] & 0x3F)
        }
        switch c {
        case 0xC2...0xDF:
            guard let c1 = cont(1) else { return (0, 0) }
            return ((c & 0x1F) << 6 | c1, 2)
        case 0xE0...0xEF:
            guard let c1 = cont(1), let c2 = cont(2) else { return (0, 0) }
            let v = (c & 0x0F) << 12 | c1 << 6 | c2
            guard v >= 0x800, !(0xD800...0xDFFF).contains(v) else { return (0, 0) }
            return (v, 3)
        case 0xF0...0xF4:
            guard let c1 = cont(1), let c2 = cont(2), let c3 = cont(3) else { return (0, 0) }
            let v = (c & 0x07) << 18 | c1 << 12 | c2 << 6 | c3
            guard v >= 0x10000, v <= 0x10FFFF else { return (0, 0) }
            return (v, 4)
        default:
            return (0, 0)
        }
    }

    @inline(__always)
    static func encode(_ v: UInt32, into out: inout (UInt8, UInt8, UInt8, UInt8)) -> Int {
        switch v {
        case 0..<0x80:
            out.0 = UInt8(v); return 1
        case 0x80..<0x800:
            out.0 = UInt8(0xC0 | v >> 6); out.1 = UInt8(0x80 | v & 0x3F); return 2
        case 0x800..<0x10000:
            out.0 = UInt8(0xE0 | v >> 12); out.1 = UInt8(0x80 | (v >> 6) & 0x3F); out.2 = UInt8(0x80 | v & 0x3F)
            return 3
        default:
            out.0 = UInt8(0xF0 | v >> 18); out.1 = UInt8(0x80 | (v >> 12) & 0x3F)
            out.2 = UInt8(0x80 | (v >> 6) & 0x3F); out.3 = UInt8(0x80 | v & 0x3F)
            return 4
        }
    }
}
