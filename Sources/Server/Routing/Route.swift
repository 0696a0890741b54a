/// One endpoint: method, path template, who may call it (`access`), where it runs, and its handler. Handlers throw any
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

    /// A path segment: fixed text, `{id}` (a positive integer that fits 64 bits), or another `{name}`: a
    /// file name (letters, digits, `-`, `_` and `.`, not starting with a dot).
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case id
        case name
    }

    public let method: String
    /// The template as documented: `/api/messages/{id}/reply`.
    public let template: String
    public let segments: [Segment]
    /// Who may call a route.
    public enum Access: Sendable, Equatable {
        /// Anyone, without credentials (health checks, the console's files, the API description).
        case open
        /// Callers with at least this role (see `AccessGate` for callers without keys).
        case role(Role)

        public static let read = Access.role(.read)
        public static let agent = Access.role(.agent)
        public static let admin = Access.role(.admin)
    }

    public let access: Access
    public let handler: Handler

    public init(_ method: String, _ template: String, access: Access, handler: Handler) {
        self.method = method
        self.template = template
        segments = template.split(separator: "/").map { $0 == "{id}" ? .id : $0.hasPrefix("{") ? .name : .literal(String($0)) }
        self.access = access
        self.handler = handler
    }

    /// A route whose handler runs on a worker thread.
    public init(_ method: String, _ template: String, access: Access,
                worker: @escaping @Sendable (HTTPRequest, RouteParameters) throws -> HTTPResponse) {
        self.init(method, template, access: access, handler: .worker(worker))
    }

    /// The `{…}` values of `path` when it fits the template, else nil.
    func match(_ path: [Substring]) -> RouteParameters? {
        guard path.count == segments.count else { return nil }
        var parameters = RouteParameters(ids: [])
        for (part, segment) in zip(path, segments) {
            switch segment {
            case .literal(let text):
                guard part == text else { return nil }
            case .id:
                guard part.allSatisfy(\.isASCII), let id = Int64(part), id > 0, part.first != "+" else { return nil }
                parameters.ids.append(id)
            case .name:
                guard part.first != ".", part.utf8.count <= 255, part.utf8.allSatisfy(Route.isFileNameByte) else { return nil }
                parameters.names.append(String(part))
            }
        }
        return parameters
    }

    /// The bytes a `{name}` segment may hold: letters, digits, `-`, `_` and `.`.
    static func isFileNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E
    }
}

/// The `{id}` values of the matched path, in order.
public struct RouteParameters: Sendable {
    public var ids: [Int64]
    /// The `{name}` values, in order.
    public var names: [String] = []
    public var id: Int64 { ids.first ?? 0 }
}
