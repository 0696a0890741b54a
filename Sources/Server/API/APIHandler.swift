
/// The REST API as the HTTP daemon sees it: routes each request and runs its handler where it belongs (the
/// I/O thread for cheap work, the worker pool for work that may block, the store's writer for writes),
/// enforces admin access, answers preflights and adds CORS headers, turns every failure into a JSON error, logs
/// each request.
public final class APIHandler: HTTPHandler {
    public let router: Router
    private let cors: CORSPolicy
    private let admin: AdminAccess
    private let logger: RequestLogger
    private let context: APIContext

    public init(context: APIContext, cors: CORSPolicy, admin: AdminAccess, logger: RequestLogger, extraRoutes: [Route] = []) {
        router = Router(MessageRoutes.routes(context) + CustomerRoutes.routes(context) + AdminRoutes.routes(context)
                        + RulesRoutes.routes(context) + SystemRoutes.routes() + extraRoutes)
        self.cors = cors
        self.admin = admin
        self.logger = logger
        self.context = context
    }

    public func handle(_ received: HTTPRequest, respond: @escaping HTTPRespond) {
        var checked = received
        checked.isAdmin = admin.check(received) == nil
        let request = checked
        let origin = request.header("origin")
        let cors = cors
        let answer: HTTPRespond = { response in
            var response = response
            cors.apply(to: &response, origin: origin)
            respond(response)
        }
        if request.method == "OPTIONS" {
            let methods = router.allowedMethods(path: request.path)
            return answer(methods.isEmpty ? .error(404, "not found: \(request.path)") : cors.preflight(request, methods: methods))
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            answer(.error(404, "not found: \(request.method) \(request.path)"))
        case .methodNotAllowed(let allowed):
            answer(.error(405, "method \(request.method) not allowed on \(request.path)",
                          headers: [("Allow", allowed.joined(separator: ", "))]))
        case .found(let route, let parameters):
            guard request.queryIsValidUTF8 else { return answer(.error(400, "the query string is not valid UTF-8")) }
            if route.isAdmin, let denied = admin.check(request) { return answer(denied.response) }
            switch route.handler {
            case .immediate(let handler):
                answer(APIHandler.run { () throws(HTTPError) in try handler(request, parameters) })
            case .worker(let handler):
                context.onWorker(answer) { answer(APIHandler.run { () throws(HTTPError) in try handler(request, parameters) }) }
            case .asynchronous(let handler):
                do {
                    try handler(request, parameters, answer)
                } catch {
                    answer(error.response)
                }
            }
        }
    }

    private static func run(_ body: () throws(HTTPError) -> HTTPResponse) -> HTTPResponse {
        do {
            return try body()
        } catch {
            return error.response
        }
    }

    public func completed(_ entry: RequestLogEntry) { logger.log(entry) }
}
