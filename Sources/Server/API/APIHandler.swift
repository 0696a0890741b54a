
/// The REST API as the HTTP daemon sees it: routes each request and runs its handler where it belongs (the
/// I/O thread for cheap work, the worker pool for work that may block, the store's writer for writes),
/// enforces admin access, answers preflights and adds CORS headers, renders every error a handler throws, logs
/// each request.
public final class APIHandler: HTTPHandler {
    public let router: Router
    private let cors: CORSPolicy
    private let admin: AdminAccess
    private let logger: RequestLogger
    /// Threads for handlers that may block (reads, imports).
    private let workers: WorkerPool
    /// Requests by route, method and status, and their durations.
    let metrics: HTTPMetrics

    init(routes: [Route], workers: WorkerPool, cors: CORSPolicy, admin: AdminAccess, logger: RequestLogger) {
        router = Router(routes)
        metrics = HTTPMetrics(router: router)
        self.workers = workers
        self.cors = cors
        self.admin = admin
        self.logger = logger
    }

    /// Answers the request; returns the index of the route template that answered (for the metrics: the route is
    /// matched once, here).
    @discardableResult
    public func handle(_ received: HTTPRequest, respond: @escaping HTTPRespond) -> Int {
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
            answer(methods.isEmpty ? .error(404, "not found: \(request.path)") : cors.preflight(request, methods: methods))
            return metrics.templateIndex(forPath: request.path)
        }
        switch router.match(method: request.method, path: request.path) {
        case .notFound:
            answer(.error(404, "not found: \(request.method) \(request.path)"))
            return metrics.unmatched
        case .methodNotAllowed(let allowed):
            answer(.error(405, "method \(request.method) not allowed on \(request.path)",
                          headers: [("Allow", allowed.joined(separator: ", "))]))
            return metrics.templateIndex(forPath: request.path)
        case .found(let route, let parameters):
            let template = metrics.templateIndex(of: route)
            guard request.queryIsValidUTF8 else {
                answer(.error(400, "the query string is not valid UTF-8"))
                return template
            }
            if route.isAdmin, let denied = admin.check(request) {
                answer(denied.response)
                return template
            }
            switch route.handler {
            case .immediate(let handler):
                answer(.catching { try handler(request, parameters) })
            case .worker(let handler):
                if !workers.submit({ answer(.catching { try handler(request, parameters) }) }) {
                    answer(HTTPError.busy("the server is busy: try again shortly").response)
                }
            case .asynchronous(let handler):
                do {
                    try handler(request, parameters, answer)
                } catch {
                    answer(HTTPResponse(rendering: error))
                }
            }
            return template
        }
    }

    public func completed(_ entry: RequestLogEntry) {
        metrics.record(template: entry.tag, method: entry.method, status: entry.status, seconds: entry.duration)
        logger.log(entry)
    }
}
