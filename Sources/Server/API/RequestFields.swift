import Foundation
import Support

/// The fields of a request body, from JSON or a form (the seed accepted both for send, reply and assign), with
/// validators that answer 400 naming the field.
struct RequestFields {
    private let values: [String: JSONValue]
    /// Whether the body was a URL-encoded form (where every value is text).
    private let isForm: Bool

    /// Decodes the body by its Content-Type: JSON (also when no type is given), or a URL-encoded form.
    init(_ request: HTTPRequest) throws(HTTPError) {
        let type = RequestFields.mediaType(request.header("content-type") ?? "")
        let body = request.body
        isForm = type == "application/x-www-form-urlencoded"
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            values = [:]
            return
        }
        switch type {
        case "application/x-www-form-urlencoded":
            guard let fields = FormDecoder.decode(body) else {
                throw .badRequest("the form body is not valid URL encoding of UTF-8 text")
            }
            var values: [String: JSONValue] = [:]
            for (name, value) in fields { values[name] = .string(value) }
            self.values = values
        case "application/json", "", "text/json", "application/problem+json":
            let document: JSONValue
            do {
                document = try JSONParser.parse(body)
            } catch {
                throw .badRequest("malformed JSON body: \(error)")
            }
            guard case .object(let members) = document else { throw .badRequest("the JSON body must be an object") }
            values = members
        default:
            throw .unsupportedMediaType("Content-Type must be application/json or application/x-www-form-urlencoded, got \(type)")
        }
    }

    /// Whether the field is present (and not null).
    func has(_ name: String) -> Bool { values[name].map { $0 != .null } ?? false }

    /// The field's value when it is a string, as sent.
    func rawString(_ name: String) -> String? {
        if case .string(let text)? = values[name] { return text }
        return nil
    }

    /// Whether the field was sent at all (null included).
    func isPresent(_ name: String) -> Bool { values[name] != nil }

    /// A positive integer that fits 64 bits: a JSON integer, or its digits in a string (as forms send it),
    /// written plainly (no sign, spaces or leading zeros), exactly as the OpenAPI document's pattern says.
    func positiveID(_ name: String) throws(HTTPError) -> Int64 {
        guard let value = values[name], value != .null else { throw .badRequest("\(name) is required") }
        let parsed: Int64?
        switch value {
        case .integer(let integer): parsed = integer
        case .number(let number) where number.rounded() == number && number >= 1 && number < 9.2e18: parsed = Int64(number)
        // A form carries every value as text: there an integer written as a number with a zero fraction ("42.0",
        // what a client serialising the JSON number 42.0 sends) is that integer, as it is in JSON.
        case .string(let text): parsed = RequestFields.plainPositiveInteger(text) ?? (isForm ? RequestFields.integralDecimal(text) : nil)
        default: parsed = nil
        }
        guard let parsed, parsed > 0 else { throw .badRequest("\(name) must be a positive integer that fits in 64 bits") }
        return parsed
    }

    /// `positiveID` when the field is sent; nil when it is left out. (null is not a way to leave it out.)
    func optionalPositiveID(_ name: String) throws(HTTPError) -> Int64? {
        guard isPresent(name) else { return nil }
        guard has(name) else { throw .badRequest("\(name) must be a positive integer that fits in 64 bits (or left out)") }
        return try positiveID(name)
    }

    /// `plainPositiveInteger` followed by a point and zeros only ("42.0", "7.000"); else nil.
    static func integralDecimal(_ text: String) -> Int64? {
        guard let point = text.utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let fraction = text.utf8[text.utf8.index(after: point)...]
        guard !fraction.isEmpty, fraction.allSatisfy({ $0 == UInt8(ascii: "0") }) else { return nil }
        return plainPositiveInteger(String(text[..<point]))
    }

    /// Digits without a sign, spaces or a leading zero, within Int64; else nil.
    static func plainPositiveInteger(_ text: String) -> Int64? {
        guard let first = text.utf8.first, first >= 0x31, first <= 0x39,
              text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(text)
    }

    /// A string of at most `maximumLength` characters, with something besides whitespace and without NUL;
    /// returned without surrounding whitespace. (Whitespace as the OpenAPI document's patterns mean it:
    /// ECMAScript's `\s`.)
    func text(_ name: String, maximumLength: Int) throws(HTTPError) -> String {
        guard let value = values[name], value != .null else { throw .badRequest("\(name) is required") }
        guard case .string(let text) = value else { throw .badRequest("\(name) must be a string") }
        let length = text.unicodeScalars.count
        guard length <= maximumLength else {
            throw .badRequest("\(name) is too long: \(length) characters, at most \(maximumLength)")
        }
        guard !text.unicodeScalars.contains(where: { $0.value == 0 }) else { throw .badRequest("\(name) must not contain NUL") }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !RequestFields.isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !RequestFields.isWhitespace($0) }) else {
            throw .badRequest("\(name) must not be empty")
        }
        return String(scalars[first...last])
    }

    /// `text` that is also one line: no control characters anywhere (agent names).
    func name(_ name: String, maximumLength: Int) throws(HTTPError) -> String {
        if case .string(let raw)? = values[name], raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .badRequest("\(name) must be one line without control characters")
        }
        return try text(name, maximumLength: maximumLength)
    }

    /// ECMAScript's `\s` (what `pattern` in the OpenAPI document means by whitespace).
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }

    /// A boolean: JSON true or false, or the words "true" and "false" in a form.
    func boolean(_ name: String) throws(HTTPError) -> Bool {
        switch values[name] {
        case .bool(let flag)?: return flag
        case .string(let text)? where isForm && (text == "true" || text == "false"): return text == "true"
        case nil, .null?: throw .badRequest("\(name) is required")
        default: throw .badRequest("\(name) must be true or false")
        }
    }

    /// The media type of a Content-Type value: what comes before any `;`, without the spaces and tabs around
    /// it, in lower case (byte by byte: this runs on every request with a body).
    static func mediaType(_ contentType: String) -> String {
        let bytes = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(decoding: bytes[first...last].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}
