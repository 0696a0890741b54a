import Support

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
            guard let order = MessageQuery.Sort(rawValue: sort) else { throw .badRequest("sort must be urgency, time or due") }
            query.sort = order
        }
        if let user = request.queryValue("user_id") {
            guard let id = positiveInteger(user) else { throw .badRequest("user_id must be a positive integer") }
            query.customerID = id
        }
        if let search = request.queryValue("search"), !search.isEmpty {
            guard search.unicodeScalars.count <= 500 else { throw .badRequest("search is too long (at most 500 characters)") }
            // The stores' pattern matching reads C strings: a NUL would end the pattern early.
            guard !search.unicodeScalars.contains(where: { $0.value == 0 }) else { throw .badRequest("search must not contain NUL") }
            query.search = search
        }
        if let since = request.queryValue("since_id") {
            guard let id = since == "0" ? 0 : RequestFields.plainPositiveInteger(since) else {
                throw .badRequest("since_id must be a non-negative integer")
            }
            query.sinceID = id
        }
        if let overdue = request.queryValue("overdue") {
            guard overdue == "true" else { throw .badRequest("overdue must be true (or left out)") }
            query.overdueAt = .now()
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

    private static func positiveInteger(_ text: String) -> Int64? { RequestFields.plainPositiveInteger(text) }
}
