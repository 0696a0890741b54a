import RulesEngine
import Support

// How the errors of the layers below the API answer a client: every mapping from an error type to a status,
// headers and body is here. (HTTPError, the API's own refusals, renders itself in HTTP/HTTPResponseError.swift.)
// A ScoringError never reaches a client: a message the rules fail on gets the fallback score, stored with the
// error in its breakdown.

/// The store failed (the database is gone, the disk is full): 503, try again in a second.
/// A store failure: 503 with a short reason for the client; the driver's own text (which can name hosts, users and
/// SQL) goes to the operations log, not to clients.
extension StoreError: HTTPResponseError {
    public var status: Int { 503 }
    public var headers: [(name: String, value: String)] { [("Retry-After", "1")] }
    public var body: JSONValue { ["error": "storage unavailable: try again shortly"] }

    public var response: HTTPResponse {
        ServerMetrics.storeErrors.add()
        OperationsLog.shared.report("store_error", "a request failed on the store", [("detail", message)])
        return HTTPResponse.json(body, status: status, headers: headers)
    }
}

/// A candidate rule set that does not load (`POST /api/rules/check`): 422, with the kind of failure and where.
extension RulesError: HTTPResponseError {
    public var status: Int { 422 }
    public var body: JSONValue {
        ["error": .string(description), "kind": .string(kind.rawValue), "file": file.map(JSONValue.string) ?? .null,
         "line": line.map { .integer(Int64($0)) } ?? .null]
    }
}
