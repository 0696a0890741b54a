import RulesEngine

/// Messages, replies and profiles in the seed's JSON shapes (field names, timestamp format).
enum MessageJSON {
    static func message(_ message: Message, detailed: Bool = false) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .integer(message.id),
            "customer_id": .integer(message.customerID),
            "message": .string(message.body),
            "timestamp": .string(message.createdAt.isoformat),
            "urgency": .number(message.urgency),
            "status": .string(message.status.rawValue),
            "assigned_to": message.assignedTo.map(JSONValue.string) ?? .null,
            "assigned_at": message.assignedAt.map { .string($0.isoformat) } ?? .null,
            "replies": .array(message.replies.map(reply)),
        ]
        if detailed {
            object["rules_version"] = message.rulesVersion.map(JSONValue.string) ?? .null
            object["breakdown"] = message.breakdown ?? .null
        }
        return .object(object)
    }

    static func reply(_ reply: Reply) -> JSONValue {
        ["agent_name": .string(reply.agentName), "reply": .string(reply.text), "timestamp": .string(reply.createdAt.isoformat)]
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
        ]
    }
}
