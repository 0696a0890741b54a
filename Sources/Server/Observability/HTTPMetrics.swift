/// Requests by route template, method and status, and their durations by route template: counters laid out in
/// arrays fixed at start (every route the server has, a few methods, the statuses it answers), so counting a
/// request is an index computation and an atomic add. Paths that fit no route count as `route="unmatched"`:
/// no label ever carries an id or anything a client chose.
final class HTTPMetrics: Sendable {
    /// The route templates, then "unmatched".
    let templates: [String]
    private let router: Router
    private let templateIndex: [String: Int]
    static let methods = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other"]
    static let statuses = [200, 201, 204, 304, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 500, 501, 503]
    /// requests[(template × methods + method) × (statuses + 1) + status]; the last status slot is "other".
    private let requests: [MetricCounter]
    /// One per template.
    private let durations: [MetricHistogram]

    init(router: Router) {
        self.router = router
        var templates: [String] = []
        for route in router.routes where !templates.contains(route.template) { templates.append(route.template) }
        templates.append("unmatched")
        self.templates = templates
        templateIndex = Dictionary(uniqueKeysWithValues: templates.enumerated().map { ($1, $0) })
        requests = (0..<templates.count * HTTPMetrics.methods.count * (HTTPMetrics.statuses.count + 1)).map { _ in MetricCounter() }
        durations = templates.map { _ in MetricHistogram() }
    }

    /// The slot of paths that fit no route.
    var unmatched: Int { templates.count - 1 }

    /// The slot of a route's template.
    func templateIndex(of route: Route) -> Int { templateIndex[route.template] ?? unmatched }

    /// The slot of the template a path fits, whatever the method (for answers given before a route is chosen).
    func templateIndex(forPath path: String) -> Int { router.template(forPath: path).flatMap { templateIndex[$0] } ?? unmatched }

    /// Counts one finished request answered by the route template in slot `template` (out of range: unmatched).
    func record(template slot: Int, method: String, status: Int, seconds: Double) {
        let template = (0..<templates.count).contains(slot) ? slot : unmatched
        let methodSlot = HTTPMetrics.methods.firstIndex(of: method) ?? HTTPMetrics.methods.count - 1
        let statusSlot = HTTPMetrics.statuses.firstIndex(of: status) ?? HTTPMetrics.statuses.count
        requests[(template * HTTPMetrics.methods.count + methodSlot) * (HTTPMetrics.statuses.count + 1) + statusSlot].add()
        durations[template].observe(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }

    func write(to text: inout PrometheusText) {
        text.family("urgencyiq_http_requests_total", "counter", "HTTP requests answered, by route template, method and status.")
        let statusCount = HTTPMetrics.statuses.count + 1
        for (templateSlot, template) in templates.enumerated() {
            for (methodSlot, method) in HTTPMetrics.methods.enumerated() {
                for statusSlot in 0..<statusCount {
                    let count = requests[(templateSlot * HTTPMetrics.methods.count + methodSlot) * statusCount + statusSlot].value
                    guard count > 0 else { continue }
                    let code = statusSlot < HTTPMetrics.statuses.count ? String(HTTPMetrics.statuses[statusSlot]) : "other"
                    text.sample("urgencyiq_http_requests_total", [("route", template), ("method", method), ("code", code)], count)
                }
            }
        }
        text.family("urgencyiq_http_request_duration_seconds", "histogram",
                    "Time from the request line to the answer handed to the network, by route template.")
        for (templateSlot, template) in templates.enumerated() where durations[templateSlot].snapshot.count > 0 {
            text.histogram("urgencyiq_http_request_duration_seconds", [("route", template)], durations[templateSlot])
        }
    }
}
