/// Finds the route for a request: 404 when no template fits the path, 405 (with the allowed methods) when
/// one does but not for this method. HEAD is served by the GET route.
public struct Router: Sendable {
    public let routes: [Route]

    public enum Match: Sendable {
        case found(Route, RouteParameters)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public init(_ routes: [Route]) { self.routes = routes }

    public func match(method: String, path: String) -> Match {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard !path.contains("//") else { return .notFound }
        var allowed: [String] = []
        for route in routes {
            guard let ids = route.match(parts) else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route, RouteParameters(ids: ids))
            }
            allowed.append(route.method)
        }
        guard !allowed.isEmpty else { return .notFound }
        return .methodNotAllowed(allowed: Router.allowHeader(allowed))
    }

    /// The methods a path allows, as the Allow header lists them.
    public func allowedMethods(path: String) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return Router.allowHeader(routes.filter { $0.match(parts) != nil }.map(\.method))
    }

    private static func allowHeader(_ methods: [String]) -> [String] {
        var result = methods
        if methods.contains("GET") { result.append("HEAD") }
        if !methods.isEmpty { result.append("OPTIONS") }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }
}
