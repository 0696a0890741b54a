import Foundation
import RulesEngine

/// The fields of a request body, from JSON or a form (the seed accepted both for send, reply and assign), with
/// validators that answer 400 naming the field.
struct RequestFields {
    private let values: [String: JSONValue]

    /// Decodes the body by its Content-Type: JSON (also when no type is given), or a URL-encoded form.
    init(_ request: HTTPRequest) throws(HTTPError) {
        let type = (request.header("content-type") ?? "").split(separator: ";").first.map {
            $0.trimmingCharacters(in: .whitespaces).lowercased()
        } ?? ""
        let body = request.body
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
            throw HTTPError(415, "Content-Type must be application/json or application/x-www-form-urlencoded, got \(type)")
        }
    }

    /// Whether the field is present (and not null).
    func has(_ name: String) -> Bool { values[name].map { $0 != .null } ?? false }

    /// A positive integer that fits 64 bits, given as a JSON integer or as digits in a string.
    func positiveID(_ name: String) throws(HTTPError) -> Int64 {
        guard let value = values[name], value != .null else { throw .badRequest("\(name) is required") }
        let parsed: Int64?
        switch value {
        case .integer(let integer): parsed = integer
        case .string(let text):
            let trimmed = text.trimmingWhitespace()
            parsed = trimmed.allSatisfy(\.isASCII) && trimmed.first != "+" && trimmed.first != "-" ? Int64(trimmed) : nil
        default: parsed = nil
        }
        guard let parsed, parsed > 0 else { throw .badRequest("\(name) must be a positive integer that fits in 64 bits") }
        return parsed
    }

    /// A string that is not empty after trimming whitespace, at most `maximumLength` characters; trimmed.
    func text(_ name: String, maximumLength: Int) throws(HTTPError) -> String {
        guard let value = values[name], value != .null else { throw .badRequest("\(name) is required") }
        guard case .string(let text) = value else { throw .badRequest("\(name) must be a string") }
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .badRequest("\(name) must not be empty") }
        let length = trimmed.unicodeScalars.count
        guard length <= maximumLength else {
            throw .badRequest("\(name) is too long: \(length) characters, at most \(maximumLength)")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.value == 0 }) else { throw .badRequest("\(name) must not contain NUL") }
        return trimmed
    }

    /// A boolean: JSON true/false, or "true"/"false"/"1"/"0" from a form.
    func boolean(_ name: String) throws(HTTPError) -> Bool {
        switch values[name] {
        case .bool(let flag)?: return flag
        case .string(let text)?:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return true
            case "false", "0", "no", "off": return false
            default: break
            }
        case .integer(let number)? where number == 0 || number == 1: return number == 1
        case nil, .null?: throw .badRequest("\(name) is required")
        default: break
        }
        throw .badRequest("\(name) must be true or false")
    }
}
