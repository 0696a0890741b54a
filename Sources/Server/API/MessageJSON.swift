import Support

/// Messages, replies and profiles in the seed's JSON shapes (field names, timestamp format, keys sorted as
/// Flask's `jsonify` sorts them). Messages are written straight to bytes: listings render up to 1000 per request.
enum MessageJSON {
    /// The JSON array of `messages`.
    static func list(_ messages: [Message]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(messages.count * 300 + 2)
        out.append(UInt8(ascii: "["))
        let now = Timestamp.now()  // one time for the whole page's `overdue`
        for (index, message) in messages.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            encode(message, detailed: false, now: now, into: &out)
        }
        out.append(UInt8(ascii: "]"))
        out.append(0x0A)
        return out
    }

    /// One message; `detailed` adds the breakdown and rules version (`GET /api/messages/{id}`).
    static func one(_ message: Message) -> [UInt8] {
        var out: [UInt8] = []
        encode(message, detailed: true, now: .now(), into: &out)
        out.append(0x0A)
        return out
    }

    private static func key(_ name: StaticString, _ out: inout [UInt8], first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    private static func timestamp(_ time: Timestamp?, _ out: inout [UInt8]) {
        guard let time else { return out.append(contentsOf: Array("null".utf8)) }
        out.append(UInt8(ascii: "\""))
        time.appendISOFormat(to: &out)
        out.append(UInt8(ascii: "\""))
    }

    private static func encode(_ message: Message, detailed: Bool, now: Timestamp, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        key("assigned_at", &out, first: true)
        timestamp(message.assignedAt, &out)
        key("assigned_to", &out)
        if let agent = message.assignedTo { JSONValue.encode(string: agent, into: &out) } else { out.append(contentsOf: Array("null".utf8)) }
        if detailed {
            key("breakdown", &out)
            (message.breakdown ?? .null).encode(into: &out)
        }
        key("customer_id", &out)
        out.append(contentsOf: Array(String(message.customerID).utf8))
        key("first_response_at", &out)
        timestamp(message.firstResponseAt, &out)
        key("first_response_due", &out)
        timestamp(message.responseDue, &out)
        key("id", &out)
        out.append(contentsOf: Array(String(message.id).utf8))
        key("message", &out)
        JSONValue.encode(string: message.body, into: &out)
        key("overdue", &out)
        out.append(contentsOf: Array((message.isOverdue(at: now) ? "true" : "false").utf8))
        key("replies", &out)
        out.append(UInt8(ascii: "["))
        for (index, reply) in message.replies.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "{"))
            key("agent_name", &out, first: true)
            JSONValue.encode(string: reply.agentName, into: &out)
            key("reply", &out)
            JSONValue.encode(string: reply.text, into: &out)
            key("timestamp", &out)
            timestamp(reply.createdAt, &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if detailed {
            key("rules_version", &out)
            if let version = message.rulesVersion { JSONValue.encode(string: version, into: &out) } else { out.append(contentsOf: Array("null".utf8)) }
        }
        key("status", &out)
        JSONValue.encode(string: message.status.rawValue, into: &out)
        key("timestamp", &out)
        timestamp(message.createdAt, &out)
        key("urgency", &out)
        JSONNumberText.append(message.urgency, to: &out)
        out.append(UInt8(ascii: "}"))
    }

    static func customer(_ profile: CustomerProfile) -> JSONValue {
        [
            "id": .integer(profile.id),
            "total_messages": .integer(Int64(profile.totalMessages)),
            "open_messages": .integer(Int64(profile.openMessages)),
            "resolved_messages": .integer(Int64(profile.resolvedMessages)),
            "avg_urgency": .number((profile.averageUrgency * 100).rounded() / 100),
            "first_contact": .string(profile.firstContact.isoformat),
            "last_contact": .string(profile.lastContact.isoformat),
            "overdue_messages": .integer(Int64(profile.overdueMessages)),
        ]
    }
}
