import Foundation
import RulesEngine
import Support

/// The ticket endpoints of the seed: send, list, show, reply, resolve, assign, unassign. They need the store and
/// the scoring, nothing else.
struct MessageRoutes {
    let store: any TicketStore
    let scoring: ScoringService
    let limits: InputLimits
    /// The background LLM step: admits new messages to its queue and is woken when one is committed.
    let refiner: LLMRefiner

    var routes: [Route] {
        [
            Route("POST", "/api/messages/send", access: .agent, handler: .asynchronous { request, _, respond in
                try send(request, respond)
            }),
            Route("GET", "/api/messages", access: .read) { request, _ in try list(request) },
            Route("GET", "/api/messages/{id}", access: .read) { _, parameters in
                guard let message = try store.message(id: parameters.id) else { throw HTTPError.notFound("Message not found") }
                return .json(bytes: MessageJSON.one(message))
            },
            Route("POST", "/api/messages/{id}/reply", access: .agent, handler: .asynchronous { request, parameters, respond in
                let fields = try RequestFields(request)
                let agent = try AgentIdentity.replier(request, fields, maximumLength: limits.agentNameLength)
                let text = try fields.text("reply", maximumLength: limits.replyLength)
                let time = Timestamp.now()
                let audit = request.auditEntry("message.reply", messageID: parameters.id, detail: ["agent_name": .string(agent)], at: time)
                write(.audited(.reply(messageID: parameters.id, agentName: agent, text: text, at: time), audit),
                      respond: respond) { [store, scoring] _ in
                    // Was it the first reply? Then count how long the customer waited (read off the writer's thread).
                    DispatchQueue.global().async {
                        if let message = try? store.message(id: parameters.id), message.firstResponseAt == time {
                            scoring.metrics.firstResponse.observe(nanoseconds: UInt64(max(0, time.microseconds - message.createdAt.microseconds)) * 1000)
                        }
                    }
                    return .json(["success": true], status: 201)
                }
            }),
            Route("POST", "/api/messages/{id}/resolve", access: .agent, handler: .asynchronous { request, parameters, respond in
                write(.audited(.resolve(messageID: parameters.id), request.auditEntry("message.resolve", messageID: parameters.id)),
                      respond: respond) { _ in .json(["success": true]) }
            }),
            Route("POST", "/api/messages/{id}/assign", access: .agent, handler: .asynchronous { request, parameters, respond in
                let agent = try AgentIdentity.assignee(request, try RequestFields(request), maximumLength: limits.agentNameLength)
                let time = Timestamp.now()
                let audit = request.auditEntry("message.assign", messageID: parameters.id, detail: ["agent_name": .string(agent)], at: time)
                write(.audited(.assign(messageID: parameters.id, agent: agent, at: time), audit), respond: respond) { _ in
                    .json(["success": true, "assigned_to": .string(agent), "assigned_at": .string(time.isoformat)])
                }
            }),
            Route("POST", "/api/messages/{id}/unassign", access: .agent, handler: .asynchronous { request, parameters, respond in
                write(.audited(.unassign(messageID: parameters.id), request.auditEntry("message.unassign", messageID: parameters.id)),
                      respond: respond) { _ in .json(["success": true]) }
            }),
        ]
    }

    /// POST /api/messages/send {user_id, message} → 201 {success, message_id, urgency}. Validates and scores on
    /// the I/O thread (on an LLM worker when the LLM step may call a model, which blocks), then queues the
    /// insert; the answer goes out once it is committed.
    func send(_ request: HTTPRequest, _ respond: @escaping HTTPRespond) throws {
        let fields = try RequestFields(request)
        let user = try fields.positiveID("user_id")
        let text = try fields.text("message", maximumLength: limits.messageLength)
        let (options, mayBlock, deferral) = scoring.newMessageOptions()
        try scoring.run(mayBlock: mayBlock) {
            let input = ScoringInput(text: text, customerID: user)
            let (score, failure, targets) = scoring.score(input, options: options, stored: true)
            let now = Timestamp.now()
            var message = NewMessage(customerID: user, body: text, createdAt: now, urgency: score.value,
                                     rulesVersion: score.rulesVersion, breakdownJSON: score.breakdown?.jsonText ?? "null",
                                     responseDue: targets?.due(createdAt: now, score: score.value))
            // Background mode: the rules asked for the model, so a refiner will (queued in the insert's transaction),
            // unless the queue is full of more urgent messages.
            var queued = false
            if failure == nil, deferral?.wasRequested == true {
                if refiner.admit(priority: score.value) {
                    queued = true
                    message.refinementPriority = score.value
                } else if var breakdown = score.breakdown {
                    breakdown.setRule("llm", to: ["state": "skipped", "used": false, "skipped": "backlog"])
                    message.breakdownJSON = breakdown.jsonText
                }
            }
            let urgency = score.value  // all the answer needs: the breakdown is freed here, not on the writer
            let rulesVersion = score.rulesVersion
            write(.insert(message), respond: respond) { [scoring, refiner, queued] outcome in
                guard case .inserted(let id) = outcome else { throw StoreError("the message was not stored") }
                if let failure { scoring.logFailure(failure, version: rulesVersion, input: input, messageID: id) }
                var answer: [String: JSONValue] = ["success": true, "message_id": .integer(id), "urgency": .number(urgency)]
                if queued {
                    answer["llm"] = .string(LLMBreakdownState.pendingReason)
                    refiner.wake()
                }
                return .json(.object(answer), status: 201)
            }
        }
    }

    /// Queues a store write and answers with `success(outcome)` once it is committed; 404 when the message does
    /// not exist, and the store's own answer when it fails.
    func write(_ write: StoreWrite, respond: @escaping HTTPRespond,
               success: @escaping @Sendable (StoreWriteOutcome) throws -> HTTPResponse) {
        store.enqueue(write) { result in
            respond(.catching {
                let outcome = try result.get()
                if case .applied(found: false) = outcome { throw HTTPError.notFound("Message not found") }
                return try success(outcome)
            })
        }
    }

    /// GET /api/messages → a JSON array, with X-Total-Count (or, where only an estimate is cheap,
    /// X-Total-Count-Estimate) and a Link to the next page.
    func list(_ request: HTTPRequest) throws -> HTTPResponse {
        let query = try MessageListing.query(from: request)
        let page = try store.messages(query)
        var response = HTTPResponse.json(bytes: MessageJSON.list(page.messages))
        if let total = page.total {
            response.addHeader("X-Total-Count", String(total))
        } else if let estimate = page.estimatedTotal {
            response.addHeader("X-Total-Count-Estimate", String(estimate))
        }
        if let next = page.next {
            response.addNextPageLink(for: request, parameter: "cursor", value: next.token)
        }
        return response
    }
}
