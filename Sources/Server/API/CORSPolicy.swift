import Foundation

/// Which browser origins may call the API (`CORS_ORIGINS`: `*`, the seed's default, or a comma-separated list).
public struct CORSPolicy: Sendable, Equatable {
    public var origins: [String]

    public init(origins: [String] = ["*"]) { self.origins = origins }

    /// Parses `*` or `https://a.example, https://b.example`.
    public init(parsing text: String) {
        origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if origins.isEmpty { origins = ["*"] }
    }

    /// The Access-Control-Allow-Origin value for a request from `origin`, or nil when it is not allowed.
    func allowedOrigin(for origin: String?) -> String? {
        if origins.contains("*") { return "*" }
        guard let origin, origins.contains(origin) else { return nil }
        return origin
    }

    /// Adds the CORS headers every answer carries.
    func apply(to response: inout HTTPResponse, origin: String?) {
        guard let allowed = allowedOrigin(for: origin) else { return }
        response.addHeader("Access-Control-Allow-Origin", allowed)
        if allowed != "*" { response.addHeader("Vary", "Origin") }
        response.addHeader("Access-Control-Expose-Headers", "Link, X-Total-Count, X-Total-Count-Estimate")
    }

    /// The answer to a preflight `OPTIONS` request for a path allowing `methods`.
    func preflight(_ request: HTTPRequest, methods: [String]) -> HTTPResponse {
        var response = HTTPResponse(status: 204, headers: [("Allow", methods.joined(separator: ", "))])
        guard allowedOrigin(for: request.header("origin")) != nil else { return response }
        response.addHeader("Access-Control-Allow-Methods", methods.joined(separator: ", "))
        response.addHeader("Access-Control-Allow-Headers", request.header("access-control-request-headers") ?? "Content-Type, Authorization")
        response.addHeader("Access-Control-Max-Age", "600")
        return response
    }
}
