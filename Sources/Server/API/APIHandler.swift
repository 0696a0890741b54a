
/// The REST API as the HTTP daemon sees it: routes each request and runs its handler where it belongs (the
/// I/O thread for cheap work, the worker pool for work that may block, the store's writer for writes),
/// lets in only callers whose role the endpoint allows (`AccessGate`), answers preflights and adds CORS
/// headers, renders every error a handler throws, logs each request.
public final class APIHandler: HTTPHandler {
    public let router: Router
    private let cors: CORSPolicy
    /// Who each request is from, and whether they may call its endpoint.
    let gate: AccessGate
    private let logger: RequestLogger
    /// Threads for handlers that may block (reads, imports), and for looking up API keys.
    private let workers: WorkerPool
    /// Requests by route, method and status, and their durations.
    let metrics: HTTPMetrics

    init(routes: [Route], workers: WorkerPool, cors: CORSPolicy, gate: AccessGate, logger: RequestLogger) {
        router = Router(routes)
        metrics = HTTPMetrics(router: router)
        self.workers = workers
        self.cors = cors
        self.gate = gate
        self.logger = logger
    }

    /// Answers the request; returns the index of the route template that answered (for the metrics: the route is
    /// matched once, here).
    @discardableResult
    public func handle(_ request: HTTPRequest, respond: @escaping HTTPRespond) -> Int {
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
            guard case .role(let required) = route.access else {
                run(route, request, parameters, answer)
                return template
            }
            switch gate.authenticate(request) {
            case .denied(let error):
                answer(error.response)
            case .principal(let principal):
                admit(principal, to: route, required: required, request, parameters, answer)
            case .storedKey(let hash):
                let admitHolder: @Sendable (Bool) -> Void = { [self] onWorker in
                    switch gate.lookUp(hash: hash) {
                    case .success(let principal):
                        admit(principal, to: route, required: required, request, parameters, answer, onWorker: onWorker)
                    case .failure(let error): answer(error.response)
                    }
                }
                if !gate.lookupMayBlock {
                    admitHolder(false)  // a local read (SQLite in WAL mode): here, without a hop to another thread
                } else if !workers.submit({ admitHolder(true) }) {  // it may wait on the network: on a worker, which runs the handler too
                    answer(HTTPError.busy("the server is busy: try again shortly").response)
                }
            }
            return template
        }
    }

    /// Runs the route's handler for `principal` when their role allows it, else answers why not.
    private func admit(_ principal: Principal, to route: Route, required: Role, _ request: HTTPRequest, _ parameters: RouteParameters,
                       _ answer: @escaping HTTPRespond, onWorker: Bool = false) {
        if let denied = gate.authorize(principal, for: required, request) {
            answer(denied.response)
            return
        }
        var request = request
        request.principal = principal
        run(route, request, parameters, answer, onWorker: onWorker)
    }

    /// Runs the handler where it belongs: a worker handler on this thread when it is a worker already.
    private func run(_ route: Route, _ request: HTTPRequest, _ parameters: RouteParameters, _ answer: @escaping HTTPRespond,
                     onWorker: Bool = false) {
        switch route.handler {
        case .immediate(let handler):
            answer(.catching { try handler(request, parameters) })
        case .worker(let handler) where onWorker:
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
    }

    public func completed(_ entry: RequestLogEntry) {
        metrics.record(template: entry.tag, method: entry.method, status: entry.status, seconds: entry.duration)
        logger.log(entry)
    }
}
