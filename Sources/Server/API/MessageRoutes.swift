import RulesEngine
import Support

/// The ticket endpoints of the seed: send, list, show, reply, resolve, assign, unassign.
enum MessageRoutes {
    static func routes(_ context: APIContext) -> [Route] {
        [
            Route("POST", "/api/messages/send", handler: .asynchronous { request, _, respond throws(HTTPError) in
                try send(request, context, respond)
            }),
            Route("GET", "/api/messages") { request, _ throws(HTTPError) in try list(request, context) },
            Route("GET", "/api/messages/{id}") { _, parameters throws(HTTPError) in
                guard let message = try context.stored({ () throws(StoreError) in try context.store.message(id: parameters.id) }) else {
                    throw .notFound("Message not found")
                }
                return .json(bytes: MessageJSON.one(message))
            },
            Route("POST", "/api/messages/{id}/reply", handler: .asynchronous { request, parameters, respond throws(HTTPError) in
                let fields = try RequestFields(request)
                let agent = try fields.name("agent_name", maximumLength: context.limits.agentNameLength)
                let text = try fields.text("reply", maximumLength: context.limits.replyLength)
                context.write(.reply(messageID: parameters.id, agentName: agent, text: text, at: .now()), respond: respond) { _ in
                    .json(["success": true], status: 201)
                }
            }),
            Route("POST", "/api/messages/{id}/resolve", handler: .asynchronous { _, parameters, respond throws(HTTPError) in
                context.write(.resolve(messageID: parameters.id), respond: respond) { _ in .json(["success": true]) }
            }),
            Route("POST", "/api/messages/{id}/assign", handler: .asynchronous { request, parameters, respond throws(HTTPError) in
                let agent = try RequestFields(request).name("agent_name", maximumLength: context.limits.agentNameLength)
                let time = Timestamp.now()
                context.write(.assign(messageID: parameters.id, agent: agent, at: time), respond: respond) { _ in
                    .json(["success": true, "assigned_to": .string(agent), "assigned_at": .string(time.isoformat)])
                }
            }),
            Route("POST", "/api/messages/{id}/unassign", handler: .asynchronous { _, parameters, respond throws(HTTPError) in
                context.write(.unassign(messageID: parameters.id), respond: respond) { _ in .json(["success": true]) }
            }),
        ]
    }

    /// POST /api/messages/send {user_id, message} → 201 {success, message_id, urgency}. Validates and scores on
    /// the I/O thread (on an LLM worker when the LLM step may call a model, which blocks), then queues the
    /// insert; the answer goes out once it is committed.
    static func send(_ request: HTTPRequest, _ context: APIContext, _ respond: @escaping HTTPRespond) throws(HTTPError) {
        let fields = try RequestFields(request)
        let user = try fields.positiveID("user_id")
        let text = try fields.text("message", maximumLength: context.limits.messageLength)
        let (options, mayBlock) = context.scoringOptions()
        context.scoring(mayBlock: mayBlock, respond) {
            let (score, _) = context.rules.scorer.scoreOrFallback(ScoringInput(text: text, customerID: user), options: options)
            let message = NewMessage(customerID: user, body: text, createdAt: .now(), urgency: score.value,
                                     rulesVersion: score.rulesVersion, breakdown: score.breakdown?.json ?? .null)
            context.write(.insert(message), respond: respond) { outcome in
                guard case .inserted(let id) = outcome else { return .error(503, "storage unavailable: the message was not stored") }
                return .json(["success": true, "message_id": .integer(id), "urgency": .number(score.value)], status: 201)
            }
        }
    }

    /// GET /api/messages → a JSON array, with X-Total-Count and a Link to the next page.
    static func list(_ request: HTTPRequest, _ context: APIContext) throws(HTTPError) -> HTTPResponse {
        let query = try MessageListing.query(from: request)
        let page = try context.stored { () throws(StoreError) in try context.store.messages(query) }
        var response = HTTPResponse.json(bytes: MessageJSON.list(page.messages))
        if let total = page.total { response.addHeader("X-Total-Count", String(total)) }
        if let next = page.next {
            response.addHeader("Link", "<\(MessageListing.link(for: request, cursor: next))>; rel=\"next\"")
        }
        return response
    }
}

/// The query parameters of `GET /api/messages`, validated (bad values are 400s naming the parameter).
enum MessageListing {
    static let defaultLimit = 100
    static let maximumLimit = 1000

    static func query(from request: HTTPRequest) throws(HTTPError) -> MessageQuery {
        var query = MessageQuery()
        if let status = request.queryValue("status") {
            guard let filter = MessageQuery.StatusFilter(rawValue: status) else {
                throw .badRequest("status must be open, resolved or all")
            }
            query.status = filter
        }
        if let sort = request.queryValue("sort") {
            guard let order = MessageQuery.Sort(rawValue: sort) else { throw .badRequest("sort must be urgency or time") }
            query.sort = order
        }
        if let user = request.queryValue("user_id") {
            guard let id = positiveInteger(user) else { throw .badRequest("user_id must be a positive integer") }
            query.customerID = id
        }
        if let search = request.queryValue("search"), !search.isEmpty {
            guard search.unicodeScalars.count <= 500 else { throw .badRequest("search is too long (at most 500 characters)") }
            query.search = search
        }
        if let since = request.queryValue("since_id") {
            guard let id = since == "0" ? 0 : RequestFields.plainPositiveInteger(since) else {
                throw .badRequest("since_id must be a non-negative integer")
            }
            query.sinceID = id
        }
        if let limit = request.queryValue("limit") {
            guard let value = RequestFields.plainPositiveInteger(limit).map(Int.init), (1...maximumLimit).contains(value) else {
                throw .badRequest("limit must be an integer from 1 to \(maximumLimit)")
            }
            query.limit = value
        } else {
            query.limit = defaultLimit
        }
        if let token = request.queryValue("cursor"), !token.isEmpty {  // empty: the first page
            guard let cursor = PageCursor(token: token), cursor.sort == query.sort else {
                throw .badRequest("cursor is not valid for this listing (take it from the Link header)")
            }
            query.after = cursor
        }
        return query
    }

    /// The URL of the next page: the same parameters with the new cursor.
    static func link(for request: HTTPRequest, cursor: PageCursor) -> String {
        var parameters = request.query.filter { $0.name != "cursor" }
        parameters.append(("cursor", cursor.token))
        return request.path + "?" + parameters.map { FormDecoder.encode($0.name) + "=" + FormDecoder.encode($0.value) }
            .joined(separator: "&")
    }

    private static func positiveInteger(_ text: String) -> Int64? { RequestFields.plainPositiveInteger(text) }
}
