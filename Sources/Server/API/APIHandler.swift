import RulesEngine

/// The REST API as the HTTP daemon sees it: routes each request, enforces admin access, answers preflights and
/// adds CORS headers, turns every failure into a JSON error, logs each request.
public final class APIHandler: HTTPHandler {
    public let router: Router
    private let cors: CORSPolicy
    private let admin: AdminAccess
    private let logger: RequestLogger

    public init(context: APIContext, cors: CORSPolicy, admin: AdminAccess, logger: RequestLogger,
                extraRoutes: [Route] = []) {
        router = Router(MessageRoutes.routes(context) + CustomerRoutes.routes(context) + AdminRoutes.routes(context)
                        + SystemRoutes.routes() + extraRoutes)
        self.cors = cors
        self.admin = admin
        self.logger = logger
    }

    public func answersImmediately(_ request: HTTPRequest) -> Bool {
        if request.method == "OPTIONS" || !request.queryIsValidUTF8 { return true }
        switch router.match(method: request.method, path: request.path) {
        case .found(let route, _): return route.answersImmediately
        case .methodNotAllowed, .notFound: return true
        }
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        var response = respond(to: request)
        cors.apply(to: &response, origin: request.header("origin"))
        return response
    }

    private func respond(to request: HTTPRequest) -> HTTPResponse {
        if request.method == "OPTIONS" {
            let methods = router.allowedMethods(path: request.path)
            return methods.isEmpty ? .error(404, "not found: \(request.path)") : cors.preflight(request, methods: methods)
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            return .error(404, "not found: \(request.method) \(request.path)")
        case .methodNotAllowed(let allowed):
            return .error(405, "method \(request.method) not allowed on \(request.path)",
                          headers: [("Allow", allowed.joined(separator: ", "))])
        case .found(let route, let parameters):
            guard request.queryIsValidUTF8 else { return .error(400, "the query string is not valid UTF-8") }
            if route.isAdmin, let denied = admin.check(request) { return denied.response }
            do {
                return try route.handler(request, parameters)
            } catch {
                return error.response
            }
        }
    }

    public func completed(_ entry: RequestLogEntry) { logger.log(entry) }
}
