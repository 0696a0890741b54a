/// One endpoint: method, path template, who may call it, where it runs, and its handler.
public struct Route: Sendable {
    /// A path segment: fixed text, or `{id}`, a positive integer that fits 64 bits.
    public enum Segment: Sendable, Equatable {
        case literal(String)
        case id
    }

    public typealias Handler = @Sendable (HTTPRequest, RouteParameters) throws(HTTPError) -> HTTPResponse

    public let method: String
    /// The template as documented: `/api/messages/{id}/reply`.
    public let template: String
    public let segments: [Segment]
    /// Admin routes need the admin token (or, without one configured, a loopback client).
    public let isAdmin: Bool
    /// Cheap routes (no database, no LLM) are answered on the I/O thread.
    public let answersImmediately: Bool
    public let handler: Handler

    public init(_ method: String, _ template: String, admin: Bool = false, immediate: Bool = false,
                handler: @escaping Handler) {
        self.method = method
        self.template = template
        segments = template.split(separator: "/").map { $0.hasPrefix("{") ? .id : .literal(String($0)) }
        isAdmin = admin
        answersImmediately = immediate
        self.handler = handler
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
