/// The agent a reply or an assignment is made in the name of. With an API key it is the key's holder: a
/// client cannot reply as someone else, and `agent_name`, when sent, must be that name (else 403). An admin
/// key may assign a ticket to anyone (dispatching is a lead's job). Without a key (`ADMIN_TOKEN`, open
/// loopback, `--no-auth`) `agent_name` is required, as in the seed.
enum AgentIdentity {
    /// The agent a reply is signed with.
    static func replier(_ request: HTTPRequest, _ fields: RequestFields, maximumLength: Int) throws(HTTPError) -> String {
        try resolve(request, fields, maximumLength: maximumLength, mayNameOthers: false, action: "reply")
    }

    /// The agent a ticket is assigned to.
    static func assignee(_ request: HTTPRequest, _ fields: RequestFields, maximumLength: Int) throws(HTTPError) -> String {
        try resolve(request, fields, maximumLength: maximumLength, mayNameOthers: request.principal.role == .admin, action: "assign")
    }

    private static func resolve(_ request: HTTPRequest, _ fields: RequestFields, maximumLength: Int, mayNameOthers: Bool,
                                action: String) throws(HTTPError) -> String {
        let principal = request.principal
        guard principal.isNamedAgent else { return try fields.name("agent_name", maximumLength: maximumLength) }
        guard fields.isPresent("agent_name") else { return principal.name }  // null is not leaving it out: a 400 below
        let given = try fields.name("agent_name", maximumLength: maximumLength)
        guard given == principal.name || mayNameOthers else {
            throw HTTPError(403, "agent_name must be \(principal.name), the name of the key used: a key can \(action) only in its holder's name")
        }
        return given
    }
}
