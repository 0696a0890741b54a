/// One endpoint: method, path template, who may call it, where it runs, and its handler. Handlers throw any
/// error that renders itself (`HTTPResponseError`): the API answers with it.
public struct Route: Sendable {
    /// Where a handler runs.
    public enum Handler: Sendable {
        /// On the I/O thread, answering before it returns: for cheap work (no database, no LLM).
        case immediate(@Sendable (HTTPRequest, RouteParameters) throws -> HTTPResponse)
        /// On a worker thread, where it may block (reads, LLM calls, imports).
        case worker(@Sendable (HTTPRequest, RouteParameters) throws -> HTTPResponse)
        /// On the I/O thread without blocking: validates, then hands the work on (a write to the store's writer)
        /// and answers through `respond` when it is done.
        case asynchronous(@Sendable (HTTPRequest, RouteParameters, @escaping HTTPRespond) throws -> Void)
    }

    /// A path segment: fixed text, or `{id}`, a positive integer that fits 64 bits.
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case id
    }

    public let method: String
    /// The template as documented: `/api/messages/{id}/reply`.
    public let template: String
    public let segments: [Segment]
    /// Admin routes need the admin token (or, without one configured, a loopback client).
    public let isAdmin: Bool
    public let handler: Handler

    public init(_ method: String, _ template: String, admin: Bool = false, handler: Handler) {
        self.method = method
        self.template = template
        segments = template.split(separator: "/").map { $0.hasPrefix("{") ? .id : .literal(String($0)) }
        isAdmin = admin
        self.handler = handler
    }

    /// A route whose handler runs on a worker thread.
    public init(_ method: String, _ template: String, admin: Bool = false,
                worker: @escaping @Sendable (HTTPRequest, RouteParameters) throws -> HTTPResponse) {
        self.init(method, template, admin: admin, handler: .worker(worker))
    }

    /// The ids in `path` when it fits the template, else nil.
    func match(_ path: [Substring]) -> [Int64]? {
        guard path.count == segments.count else { return nil }
        var ids: [Int64] = []
        for (part, segment) in zip(path, segments) {
            switch segment {
            case .literal(let text):
                guard part == text else { return nil }
            case .id:
                guard part.allSatisfy(\.isASCII), let id = Int64(part), id > 0, part.first != "+" else { return nil }
                ids.append(id)
            }
        }
        return ids
    }
}

/// The `{id}` values of the matched path, in order.
public struct RouteParameters: Sendable {
    public var ids: [Int64]
    public var id: Int64 { ids.first ?? 0 }
}
