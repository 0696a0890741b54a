import Foundation

/// A fixed bearer token from the environment (`METRICS_TOKEN`), checked in constant time.
public struct BearerToken: Sendable, Equatable {
    public let token: String

    public init(_ token: String) { self.token = token }

    /// nil when the request carries `Authorization: Bearer <token>`, else the error to answer.
    func check(_ request: HTTPRequest) -> HTTPError? {
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("bearer ") else {
            return HTTPError(401, "a bearer token is required (Authorization: Bearer …)", headers: [("WWW-Authenticate", "Bearer")])
        }
        let given = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return ConstantTime.equal(Array(given.utf8), Array(token.utf8)) ? nil : HTTPError(403, "wrong bearer token")
    }
}
