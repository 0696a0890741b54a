import Support

/// How events are written on a `text/event-stream` (the WHATWG Server-Sent Events format): `id:`, `event:`,
/// one `data:` line of JSON, a blank line.
enum EventStreamFormat {
    /// The stream's first bytes: how long a browser waits before reconnecting, and a comment.
    static let opening = Array("retry: 2000\n: connected\n\n".utf8)
    /// Sent every 15 s so that proxies keep the connection open and dead clients are noticed.
    static let keepAlive = Array(": keep-alive\n\n".utf8)
    /// Sent instead of the missed events when a reconnecting client missed more than can be replayed: it should
    /// reload what it shows.
    static func resync(lastID: Int64) -> [UInt8] {
        Array("id: \(lastID)\nevent: resync\ndata: {\"reason\":\"too many missed events: reload\"}\n\n".utf8)
    }

    /// One event as sent.
    static func encode(_ event: StoredEvent) -> [UInt8] {
        var bytes = Array("id: \(event.id)\nevent: \(event.type)\ndata: ".utf8)
        data(of: event).encode(into: &bytes)
        bytes.append(contentsOf: [0x0A, 0x0A])
        return bytes
    }

    /// The event's JSON: the message's public fields for message events, the stored details otherwise.
    static func data(of event: StoredEvent) -> JSONValue {
        if let message = event.message {
            var object: [String: JSONValue] = [
                "message_id": .integer(message.id), "user_id": .integer(message.customerID), "urgency": .number(message.urgency),
                "status": .string(message.status.rawValue), "assigned_to": message.assignedTo.map(JSONValue.string) ?? .null,
                "timestamp": .string(message.createdAt.isoformat), "preview": .string(message.preview),
            ]
            if let change = event.change { object["change"] = .string(change) }
            return .object(object)
        }
        if let detail = event.detail, let parsed = try? JSONParser.parse(Array(detail.utf8)) { return parsed }
        return .object([:])
    }
}
