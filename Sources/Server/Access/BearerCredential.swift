import Foundation

extension HTTPRequest {
    /// The token of `Authorization: Bearer TOKEN` (the scheme in any case, the token trimmed); nil when there is no
    /// such header or it names another scheme. How API keys, `ADMIN_TOKEN` and `METRICS_TOKEN` are sent.
    var bearerToken: String? {
        guard let header = header("authorization"), header.utf8.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return header.dropFirst(7).trimmingCharacters(in: .whitespaces)
    }
}
