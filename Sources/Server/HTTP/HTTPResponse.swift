import Support

/// An HTTP response: status, headers, body.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A body written over time (Server-Sent Events) instead of `body`.
    public var stream: ResponseStream?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: [UInt8] = [], stream: ResponseStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    /// A JSON body (compact, keys sorted, as the seed's Flask answers).
    public static func json(_ value: JSONValue, status: Int = 200, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(256)
        value.encode(into: &body)
        body.append(0x0A)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// A body that is JSON already.
    public static func json(bytes: [UInt8], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: bytes)
    }

    /// `{"error": message}` with `status`.
    public static func error(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> HTTPResponse {
        json(["error": .string(message)], status: status, headers: headers)
    }

    public mutating func addHeader(_ name: String, _ value: String) { headers.append((name, value)) }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}
