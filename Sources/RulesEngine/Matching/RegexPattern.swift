import CLuaHost
import CPCRE2

/// A compiled PCRE2 pattern (JIT when available), shared read-only by every Lua state of a rule set.
///
/// Always compiled with UTF and UCP, so `\b`, `\d`, `\w` and `\s` are Unicode-aware like Python's `re`
/// on `str`, and `.` stops at `\n` only.
///
/// A pattern whose source is pure ASCII is compiled a second time without UTF and UCP. On a pure-ASCII
/// subject both give the same answers (every character involved is ASCII, where Unicode and ASCII classes,
/// word boundaries and case folding agree), and the ASCII variant is several times faster: PCRE2 can skip
/// ahead with a start-character bitmap and test word boundaries with a table lookup.
final class RegexPattern: HostObject, @unchecked Sendable {
    /// Compile options a rule can ask for with a flag letter.
    struct Flags: Hashable, Sendable {
        var caseless = false    // i
        var multiline = false   // m
        var dotAll = false      // s
        var extended = false    // x

        /// Parses "imsx" letters; nil on any other letter.
        init?(_ letters: String) {
            for letter in letters {
                switch letter {
                case "i": caseless = true
                case "m": multiline = true
                case "s": dotAll = true
                case "x": extended = true
                default: return nil
                }
            }
        }

        var options: UInt32 { asciiOptions | UInt32(PCRE2_UTF | PCRE2_UCP) }

        var asciiOptions: UInt32 {
            var options: UInt32 = 0
            if caseless { options |= UInt32(PCRE2_CASELESS) }
            if multiline { options |= UInt32(PCRE2_MULTILINE) }
            if dotAll { options |= UInt32(PCRE2_DOTALL) }
            if extended { options |= UInt32(PCRE2_EXTENDED) }
            return options
        }
    }

    struct CompileError: Error, CustomStringConvertible {
        var message: String
        var offset: Int
        var description: String { "\(message) at offset \(offset)" }
    }

    let source: String
    let flags: Flags
    /// The UTF + UCP compilation: right for every subject.
    let code: OpaquePointer
    let isJIT: Bool
    /// The ASCII compilation (pure-ASCII sources only): right for pure-ASCII subjects.
    let asciiCode: OpaquePointer?
    let asciiIsJIT: Bool
    let captureCount: Int
    /// The C view the hot-path methods use (CLuaHost/regex.c).
    let native: UnsafeMutablePointer<uiq_regex>

    init(_ source: String, flags: Flags) throws(CompileError) {
        self.source = source
        self.flags = flags
        let compiled = try RegexPattern.compile(source, options: flags.options)
        code = compiled.code
        isJIT = compiled.isJIT
        if source.utf8.allSatisfy({ $0 < 0x80 }),
           let ascii = try? RegexPattern.compile(source, options: flags.asciiOptions) {
            asciiCode = ascii.code
            asciiIsJIT = ascii.isJIT
        } else {
            asciiCode = nil
            asciiIsJIT = false
        }
        var captures: UInt32 = 0
        pcre2_pattern_info_8(code, UInt32(PCRE2_INFO_CAPTURECOUNT), &captures)
        captureCount = Int(captures)
        native = .allocate(capacity: 1)
        native.initialize(to: uiq_regex(code: UnsafeMutableRawPointer(code), ascii_code: asciiCode.map(UnsafeMutableRawPointer.init),
                                        jit: isJIT ? 1 : 0, ascii_jit: asciiIsJIT ? 1 : 0))
    }

    deinit {
        native.deallocate()
        pcre2_code_free_8(code)
        if let asciiCode { pcre2_code_free_8(asciiCode) }
    }

    private static func compile(_ source: String, options: UInt32) throws(CompileError) -> (code: OpaquePointer, isJIT: Bool) {
        var errorCode: Int32 = 0
        var errorOffset = 0
        let context = pcre2_compile_context_create_8(nil)
        defer { pcre2_compile_context_free_8(context) }
        pcre2_set_newline_8(context, UInt32(PCRE2_NEWLINE_LF))  // like Python: only \n ends a line
        let compiled = Array(source.utf8).withUnsafeBufferPointer { pattern in
            pcre2_compile_8(pattern.baseAddress ?? UnsafePointer(bitPattern: 1)!, pattern.count, options,
                            &errorCode, &errorOffset, context)
        }
        guard let compiled else {
            throw CompileError(message: RegexPattern.message(for: errorCode), offset: errorOffset)
        }
        return (compiled, pcre2_jit_compile_8(compiled, UInt32(PCRE2_JIT_COMPLETE)) == 0)
    }

    /// PCRE2's text for an error code.
    static func message(for code: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 256)
        let length = pcre2_get_error_message_8(code, &buffer, buffer.count)
        return length > 0 ? String(decoding: buffer[0..<Int(length)], as: UTF8.self) : "PCRE2 error \(code)"
    }
}
