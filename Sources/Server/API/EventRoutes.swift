/// `GET /api/events`: the live feed as Server-Sent Events (`message.created`, `message.updated`,
/// `rules.activated`), optionally only messages at or above `min_urgency`; `Last-Event-ID` (or `last_event_id`
/// in the query, for clients that cannot set headers) replays what a reconnecting client missed.
struct EventRoutes {
    let hub: EventHub

    var routes: [Route] {
        [Route("GET", "/api/events", access: .read) { request, _ in try subscribe(request) }]
    }

    private func subscribe(_ request: HTTPRequest) throws -> HTTPResponse {
        var filter = EventHub.Filter()
        if let text = request.queryValue("min_urgency") {
            guard let value = Double(text), value.isFinite, value >= 0, value <= 100, text.utf8.allSatisfy({ $0 != 0x20 }) else {
                throw HTTPError.badRequest("min_urgency must be a number from 0 to 100, got '\(text)'")
            }
            filter.minimumUrgency = value
        }
        var lastEventID: Int64?
        if let text = request.header("last-event-id") ?? request.queryValue("last_event_id"), !text.isEmpty {
            guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = Int64(text) else {
                throw HTTPError.badRequest("Last-Event-ID must be an event id (digits), got '\(text.prefix(40))'")
            }
            lastEventID = id
        }
        let stream = ResponseStream()
        do {
            try hub.subscribe(stream, filter: filter, after: lastEventID, keyHash: request.principal.keyHash)
        } catch {
            throw HTTPError.busy("the event feed cannot be read: \(error)", retryAfter: 2)
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-store"),
                                                   ("X-Accel-Buffering", "no")], stream: stream)
    }
}
