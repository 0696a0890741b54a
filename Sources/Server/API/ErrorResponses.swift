import RulesEngine
import Support

// How the errors of the layers below the API answer a client: every mapping from an error type to a status,
// headers and body is here. (HTTPError, the API's own refusals, renders itself in HTTP/HTTPResponseError.swift.)
// A ScoringError never reaches a client: a message the rules fail on gets the fallback score, stored with the
// error in its breakdown.

/// The store failed (the database is gone, the disk is full): 503, try again in a second.
extension StoreError: HTTPResponseError {
    public var status: Int { 503 }
    public var headers: [(name: String, value: String)] { [("Retry-After", "1")] }
    public var body: JSONValue { ["error": .string("storage unavailable: \(message)")] }
}

/// A candidate rule set that does not load (`POST /api/rules/check`): 422, with the kind of failure and where.
extension RulesError: HTTPResponseError {
    public var status: Int { 422 }
    public var body: JSONValue {
        ["error": .string(description), "kind": .string(kind.rawValue), "file": file.map(JSONValue.string) ?? .null,
         "line": line.map { .integer(Int64($0)) } ?? .null]
    }
}
