extension HTTPResponse {
    /// Adds `Link: <URL>; rel="next"`, URL being the request's path and query with `parameter` set to `value` (the
    /// next page's cursor): how listings (`GET /api/messages`, `GET /api/audit`) page.
    mutating func addNextPageLink(for request: HTTPRequest, parameter: String, value: String) {
        var parameters = request.query.filter { $0.name != parameter }
        parameters.append((parameter, value))
        let query = parameters.map { FormDecoder.encode($0.name) + "=" + FormDecoder.encode($0.value) }.joined(separator: "&")
        addHeader("Link", "<\(request.path)?\(query)>; rel=\"next\"")
    }
}
