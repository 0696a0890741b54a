/// Finds the route for a request: 404 when no template fits the path, 405 (with the allowed methods) when
/// one does but not for this method. HEAD is served by the GET route.
public struct Router: Sendable {
    public let routes: [Route]
    /// The routes without `{id}`, by their path (no trailing slash), in declaration order: one hash lookup.
    private let literal: [String: [Int]]
    /// The indices of the routes with an `{id}`, tried in order.
    private let parameterized: [Int]

    public enum Match: Sendable {
        case found(Route, RouteParameters)
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    /// A template's fixed segments are never all digits, so a path matches literal or parameterized routes,
    /// never both.
    public init(_ routes: [Route]) {
        self.routes = routes
        var literal: [String: [Int]] = [:], parameterized: [Int] = []
        for (index, route) in routes.enumerated() {
            if route.segments.contains(.id) || route.segments.contains(.name) {
                parameterized.append(index)
            } else {
                precondition(route.segments.allSatisfy { if case .literal(let text) = $0 { !text.allSatisfy(\.isNumber) } else { true } },
                             "a fixed path segment must not be all digits: \(route.template)")
                literal[Router.key(route.template), default: []].append(index)
            }
        }
        self.literal = literal
        self.parameterized = parameterized
    }

    public func match(method: String, path: String) -> Match {
        guard !Router.hasEmptySegment(path) else { return .notFound }
        var allowed: [String] = []
        func consider(_ index: Int, parameters: RouteParameters) -> Match? {
            let method2 = routes[index].method
            if method2 == method || (method == "HEAD" && method2 == "GET") {
                return .found(routes[index], parameters)
            }
            allowed.append(method2)
            return nil
        }
        if let candidates = literal[Router.key(path)] {
            for index in candidates { if let found = consider(index, parameters: RouteParameters(ids: [])) { return found } }
        } else {
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            for index in parameterized {
                guard let parameters = routes[index].match(parts) else { continue }
                if let found = consider(index, parameters: parameters) { return found }
            }
        }
        guard !allowed.isEmpty else { return .notFound }
        return .methodNotAllowed(allowed: Router.allowHeader(allowed))
    }

    /// A path as the literal table keys it: without its trailing slash.
    private static func key(_ path: String) -> String {
        var key = Substring(path)
        while key.utf8.last == UInt8(ascii: "/") { key = key.dropLast() }
        return String(key)
    }

    /// Whether `path` has `//` in it (an empty segment: no route has one).
    private static func hasEmptySegment(_ path: String) -> Bool {
        var previousWasSlash = false
        for byte in path.utf8 {
            let slash = byte == UInt8(ascii: "/")
            if slash && previousWasSlash { return true }
            previousWasSlash = slash
        }
        return false
    }

    /// The template of the first route whose path fits `path`, whatever its method (for metrics).
    public func template(forPath path: String) -> String? {
        if let candidates = literal[Router.key(path)], let first = candidates.first { return routes[first].template }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return parameterized.first { routes[$0].match(parts) != nil }.map { routes[$0].template }
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
