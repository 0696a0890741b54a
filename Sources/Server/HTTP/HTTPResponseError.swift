import Support

/// An error that is capable of generating an HTTP response (after Hummingbird's `HTTPResponseError`): its status,
/// its headers and its JSON body. Routes throw; `HTTPResponse(rendering:)` turns any error into the answer.
public protocol HTTPResponseError: Error {
    var status: Int { get }
    var headers: [(name: String, value: String)] { get }
    /// `{"error": …}` and whatever else the client needs to act on it.
    var body: JSONValue { get }
    /// The whole answer (by default status, headers and body; an error may also count or log itself here).
    var response: HTTPResponse { get }
}

extension HTTPResponseError {
    public var headers: [(name: String, value: String)] { [] }
    public var response: HTTPResponse { .json(body, status: status, headers: headers) }
}

/// A refusal decided by the API itself: a request that is not valid, something that does not exist, a server
/// too busy to take it. `kind`, when set, tells clients what kind of failure it is beside the message.
public struct HTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var headers: [(name: String, value: String)]
    public var kind: String?

    public init(_ status: Int, _ message: String, headers: [(name: String, value: String)] = [], kind: String? = nil) {
        self.status = status
        self.message = message
        self.headers = headers
        self.kind = kind
    }

    /// 400: the request is not valid; the message names the field or parameter.
    public static func badRequest(_ message: String) -> HTTPError { HTTPError(400, message) }
    /// 404: no such message, customer or path.
    public static func notFound(_ message: String) -> HTTPError { HTTPError(404, message) }
    /// 409: the request is fine but the server's own files are not (the seed file, the fixtures).
    public static func conflict(_ message: String) -> HTTPError { HTTPError(409, message) }
    /// 415: a body in a format the API does not read.
    public static func unsupportedMediaType(_ message: String) -> HTTPError { HTTPError(415, message) }
    /// 422: understood, but it cannot be done with what was sent.
    public static func unprocessable(_ message: String, kind: String? = nil) -> HTTPError { HTTPError(422, message, kind: kind) }
    /// 503 with `Retry-After`: the server cannot take the work now; the client should try again after that many seconds.
    public static func busy(_ message: String, retryAfter seconds: Int = 1) -> HTTPError {
        HTTPError(503, message, headers: [("Retry-After", String(seconds))])
    }

    public var body: JSONValue {
        guard let kind else { return ["error": .string(message)] }
        return ["error": .string(message), "kind": .string(kind)]
    }

    public var description: String { "\(status): \(message)" }
}

extension HTTPResponse {
    /// The answer to `error`: its own when it can render itself; a 500 for anything else (a bug, never a client's
    /// doing: every error a route can meet renders itself).
    public init(rendering error: any Error) {
        if let error = error as? any HTTPResponseError {
            self = error.response
        } else {
            self = .error(500, "internal error: \(error)")
        }
    }

    /// What `body` answers, or the answer to the error it throws.
    public static func catching(_ body: () throws -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch {
            return HTTPResponse(rendering: error)
        }
    }
}
