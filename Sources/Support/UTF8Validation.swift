/// Whether bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), checked eight
/// ASCII bytes at a time: every request body passes through it before it is parsed.
public enum UTF8Validation {
    public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool { firstInvalidOffset(bytes) == nil }

    /// Where the first ill-formed sequence starts, or nil when the bytes are well-formed UTF-8.
    public static func firstInvalidOffset(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let count = bytes.count
        var i = 0
        while i < count {
            if i + 8 <= count, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let c = bytes[i]
            if c < 0x80 {
                i += 1
            } else if c >= 0xC2 && c <= 0xDF {
                guard i + 1 < count, bytes[i + 1] & 0xC0 == 0x80 else { return i }
                i += 2
            } else if c >= 0xE0 && c <= 0xEF {
                guard i + 2 < count else { return i }
                let c1 = bytes[i + 1], c2 = bytes[i + 2]
                guard c1 & 0xC0 == 0x80, c2 & 0xC0 == 0x80 else { return i }
                if c == 0xE0 && c1 < 0xA0 { return i }  // overlong
                if c == 0xED && c1 > 0x9F { return i }  // surrogate
                i += 3
            } else if c >= 0xF0 && c <= 0xF4 {
                guard i + 3 < count else { return i }
                let c1 = bytes[i + 1], c2 = bytes[i + 2], c3 = bytes[i + 3]
                guard c1 & 0xC0 == 0x80, c2 & 0xC0 == 0x80, c3 & 0xC0 == 0x80 else { return i }
                if c == 0xF0 && c1 < 0x90 { return i }  // overlong
                if c == 0xF4 && c1 > 0x8F { return i }  // above U+10FFFF
                i += 4
            } else {
                return i
            }
        }
        return nil
    }
}
