import Foundation

/// Who may call admin endpoints: with `ADMIN_TOKEN` set, whoever sends `Authorization: Bearer <token>`; without
/// it, only clients on the loopback interface.
public struct AdminAccess: Sendable, Equatable {
    public var token: String?

    public init(token: String?) { self.token = token.flatMap { $0.isEmpty ? nil : $0 } }

    /// nil when allowed, else the error to answer.
    func check(_ request: HTTPRequest) -> HTTPError? {
        guard let token else {
            return request.isFromLoopback ? nil
                : HTTPError(403, "admin endpoints answer loopback clients only unless ADMIN_TOKEN is set")
        }
        guard let header = request.header("authorization"), header.lowercased().hasPrefix("bearer ") else {
            return HTTPError(401, "admin token required (Authorization: Bearer …)", headers: [("WWW-Authenticate", "Bearer")])
        }
        let given = header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces)
        return AdminAccess.constantTimeEqual(Array(given.utf8), Array(token.utf8)) ? nil : HTTPError(403, "wrong admin token")
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
