import Foundation
import Support

/// Which messages to list, in which order, and which page.
public struct MessageQuery: Sendable, Equatable {
    public enum StatusFilter: String, Sendable { case open, resolved, all }
    /// Most urgent first, newest first, or earliest first-response due first (answered and target-less ones last).
    public enum Sort: String, Sendable { case urgency, time, due }

    public var status: StatusFilter = .open
    public var sort: Sort = .urgency
    public var customerID: Int64?
    /// Substring of the message body, case-insensitive for ASCII letters (as the seed's SQLite `LIKE`).
    public var search: String?
    /// Only messages with a larger id (newer), for clients that poll.
    public var sinceID: Int64?
    public var limit: Int = 100
    /// Continue after this position (from the previous page).
    public var after: PageCursor?
    /// Only messages overdue at this time: open, unanswered, past their first-response due time.
    public var overdueAt: Timestamp?

    public init() {}
}

extension MessageQuery {
    /// A search as a LIKE pattern, `%text%`: ASCII letters lowercased, LIKE's own characters (`%`, `_` and the
    /// escape `\`) escaped with `\`. Both stores match it ASCII-case-insensitively (SQLite's LIKE, PostgreSQL's
    /// LIKE on `ascii_lower(body)`).
    static func likePattern(_ search: String) -> String {
        var pattern = "%"
        for character in search.unicodeScalars {
            switch character {
            case "%", "_", "\\": pattern += "\\" + String(character)
            case "A"..."Z": pattern.unicodeScalars.append(Unicode.Scalar(UInt8(character.value + 32)))
            default: pattern.unicodeScalars.append(character)
            }
        }
        return pattern + "%"
    }
}

/// A page of messages: the messages in order, how many match in all (nil when counting them exactly would cost
/// far more than the page: a search for a very common or very short substring), and where the next page starts.
public struct MessagePage: Sendable, Equatable {
    public var messages: [Message]
    /// How many messages match, counted; nil when counting would cost too much.
    public var total: Int?
    /// When `total` is nil: the store's estimate of how many match, if it has one.
    public var estimatedTotal: Int?
    public var next: PageCursor?

    public init(messages: [Message], total: Int?, estimatedTotal: Int? = nil, next: PageCursor?) {
        self.messages = messages
        self.total = total
        self.estimatedTotal = estimatedTotal
        self.next = next
    }
}

/// A keyset position in a sorted listing: the sort key of the last message shown. Opaque to clients
/// (base64url of a small JSON document), and bound to its sort order.
public struct PageCursor: Sendable, Equatable {
    public var sort: MessageQuery.Sort
    public var urgency: Double
    public var createdAt: Timestamp
    public var id: Int64
    /// The `due` sort's key: the first-response due time of an unanswered message, else the largest value.
    public var dueKey: Int64 = Int64.max

    public init(sort: MessageQuery.Sort, urgency: Double, createdAt: Timestamp, id: Int64, dueKey: Int64 = Int64.max) {
        self.sort = sort
        self.urgency = urgency
        self.createdAt = createdAt
        self.id = id
        self.dueKey = dueKey
    }

    /// The cursor after `message` in `sort` order.
    public init(after message: Message, sort: MessageQuery.Sort) {
        self.init(sort: sort, urgency: message.urgency, createdAt: message.createdAt, id: message.id,
                  dueKey: PageCursor.dueKey(of: message))
    }

    /// Where a message stands in the `due` order.
    static func dueKey(of message: Message) -> Int64 {
        message.firstResponseAt == nil ? message.responseDue?.microseconds ?? Int64.max : Int64.max
    }

    public var token: String {
        var object: [String: JSONValue] = ["s": .string(sort.rawValue), "u": .number(urgency), "t": .integer(createdAt.microseconds),
                                           "i": .integer(id)]
        if sort == .due { object["d"] = .integer(dueKey) }
        let json = JSONValue.object(object)
        return Base64URL.encode(json.jsonText.utf8)
    }

    /// Decodes a token; nil for anything that is not one of ours.
    public init?(token: String) {
        guard token.utf8.count <= 512 else { return nil }
        guard let data = Base64URL.decode(token), let json = try? JSONParser.parse(data),
              let sort = json["s"]?.stringValue.flatMap(MessageQuery.Sort.init(rawValue:)),
              let urgency = json["u"]?.doubleValue, urgency.isFinite,
              case .integer(let time)? = json["t"], case .integer(let id)? = json["i"] else { return nil }
        var dueKey = Int64.max
        if sort == .due {
            guard case .integer(let key)? = json["d"] else { return nil }
            dueKey = key
        }
        self.init(sort: sort, urgency: urgency, createdAt: Timestamp(microseconds: time), id: id, dueKey: dueKey)
    }
}
