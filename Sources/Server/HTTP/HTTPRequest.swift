/// An HTTP request as handlers see it: everything read, the body complete.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path without the query string, percent-decoded by the HTTP layer.
    public var path: String
    /// Query parameters in order (names may repeat), decoded.
    public var query: [(name: String, value: String)]
    /// Header values by lower-cased name (repeated headers joined with ", ").
    public var headers: [String: String]
    public var body: [UInt8]
    /// Whether the client connected from a loopback address (127.0.0.0/8 or ::1).
    public var isFromLoopback: Bool
    /// The client's address, for logs.
    public var clientAddress: String
    /// False when a query parameter was not valid UTF-8 (it is then left out of `query`).
    public var queryIsValidUTF8 = true
    /// Who sent it (set by the API handler from the `AccessGate` before the handler runs): the name replies,
    /// assignments and the audit trail use, and the role endpoints that show admins more look at.
    public var principal = Principal(name: Principal.anonymousName, role: .read, credential: .none)

    /// Whether the caller may use admin endpoints.
    public var isAdmin: Bool { principal.role == .admin }

    public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [String: String] = [:],
                body: [UInt8] = [], isFromLoopback: Bool = true, clientAddress: String = "127.0.0.1") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.isFromLoopback = isFromLoopback
        self.clientAddress = clientAddress
    }

    /// The last value of query parameter `name`.
    public func queryValue(_ name: String) -> String? { query.last { $0.name == name }?.value }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}
