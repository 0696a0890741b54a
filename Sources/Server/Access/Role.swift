/// What an API key may do. Each role includes the ones below it: `read` lists and shows tickets, customers and
/// events; `agent` also sends, replies, assigns, unassigns and resolves; `admin` may do everything (rules, seed,
/// rescore, the LLM toggle, webhooks, keys, the audit trail).
public enum Role: String, Sendable, CaseIterable, Comparable {
    case read, agent, admin

    private var rank: Int {
        switch self {
        case .read: 0
        case .agent: 1
        case .admin: 2
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }

    /// Whether a caller with this role may call an endpoint that needs `required`.
    public func allows(_ required: Role) -> Bool { self >= required }
}
