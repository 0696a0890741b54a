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
        return BearerToken.constantTimeEqual(Array(given.utf8), Array(token.utf8)) ? nil : HTTPError(403, "wrong bearer token")
    }

    /// Compares without stopping at the first difference, so timing does not reveal the token.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
