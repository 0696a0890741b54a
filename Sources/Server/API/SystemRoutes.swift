import Foundation

/// Health, the version and the API's own description.
enum SystemRoutes {
    /// Health's answer, written once: load balancers ask for it many times a second.
    private static let healthy = HTTPResponse.json(["status": "ok"])

    static func routes() -> [Route] {
        [
            Route("GET", "/api/health", access: .open, handler: .immediate { _, _ in healthy }),
            Route("GET", "/api/version", access: .open, handler: .immediate { _, _ in .json(BuildInfo.json) }),
            Route("GET", "/openapi.json", access: .open, handler: .immediate { _, _ in
                guard let document = OpenAPIDocument.bytes else { throw HTTPError.notFound("the OpenAPI document is not installed") }
                return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: document)
            }),
        ]
    }
}

/// The OpenAPI 3.1 document of the API (Sources/Server/Resources/openapi.json), read once.
public enum OpenAPIDocument {
    public static let bytes: [UInt8]? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
              let data = try? Data(contentsOf: url) else { return nil }
        return [UInt8](data)
    }()
}
