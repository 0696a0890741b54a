import Foundation

/// The web console's pages: `GET /` is the console's one HTML page, `GET /console/NAME` its scripts, styles
/// and icons. Every answer forbids inline script and framing (Content-Security-Policy), and is revalidated by
/// its ETag, so a deployed change shows on the next load.
struct ConsoleRoutes {
    let assets: ConsoleAssets

    /// The policy every console file is served with: everything from this server only, no inline script or
    /// style, no plugins, no framing by other sites.
    static let contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        + "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    var routes: [Route] {
        [
            Route("GET", "/", access: .open, handler: .immediate { request, _ in try serve("index.html", request) }),
            Route("GET", "/console/{file}", access: .open, handler: .immediate { request, parameters in
                try serve(parameters.names.first ?? "", request)
            }),
        ]
    }

    private func serve(_ name: String, _ request: HTTPRequest) throws -> HTTPResponse {
        guard let asset = assets.asset(named: name) else {
            throw HTTPError.notFound(name == "index.html" && assets.names.isEmpty
                ? "the web console is not installed (no files in \(assets.directory ?? "the resources"))"
                : "not found: /console/\(name)")
        }
        let headers: [(name: String, value: String)] = [
            ("Content-Security-Policy", ConsoleRoutes.contentSecurityPolicy), ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"), ("Cache-Control", "no-cache"), ("ETag", asset.etag),
        ]
        if request.header("if-none-match")?.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == asset.etag }) == true {
            return HTTPResponse(status: 304, headers: headers)
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", asset.contentType)] + headers, body: asset.bytes)
    }
}
