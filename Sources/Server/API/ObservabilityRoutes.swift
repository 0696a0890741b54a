import Foundation
import RulesEngine
import Support
import Synchronization

/// What operators and orchestrators watch: `GET /metrics` (Prometheus; behind `METRICS_TOKEN` when set),
/// `GET /livez` (the process serves) and `GET /readyz` (the store answers within a deadline and rules are loaded).
struct ObservabilityRoutes {
    /// The server's metrics, set once it is wired (they need the router, which needs these routes).
    final class MetricsSlot: Sendable {
        private let value = Mutex<ServerMetrics?>(nil)
        init() {}
        func set(_ metrics: ServerMetrics) { value.withLock { $0 = metrics } }
        var metrics: ServerMetrics? { value.withLock { $0 } }
    }

    let metrics: MetricsSlot
    let store: any Store
    let rules: ActiveRules
    /// `METRICS_TOKEN`, or nil: /metrics is open.
    let metricsToken: String?
    /// Seconds the store has to answer for /readyz.
    let readinessDeadline: Double

    var routes: [Route] {
        [
            Route("GET", "/metrics", access: .open) { request, _ in try exposition(request) },
            Route("GET", "/livez", access: .open, handler: .immediate { _, _ in .json(["status": "ok"]) }),
            Route("GET", "/readyz", access: .open) { _, _ in readiness() },
        ]
    }

    private func exposition(_ request: HTTPRequest) throws -> HTTPResponse {
        if let metricsToken {
            guard let given = request.bearerToken else {
                throw HTTPError(401, "metrics token required (Authorization: Bearer …)", headers: [("WWW-Authenticate", "Bearer")])
            }
            guard ConstantTime.equal(Array(given.utf8), Array(metricsToken.utf8)) else { throw HTTPError(403, "wrong metrics token") }
        }
        guard let metrics = metrics.metrics else { throw HTTPError.busy("the server is starting") }
        return HTTPResponse(status: 200, headers: [("Content-Type", PrometheusText.contentType)], body: Array(metrics.exposition().utf8))
    }

    /// 200 when every check passes, else 503 naming the checks that failed; each check's result either way.
    private func readiness() -> HTTPResponse {
        var checks: [String: JSONValue] = [:]
        let answered = DispatchSemaphore(value: 0)
        let outcome = Mutex<String?>(nil)
        let store = store
        DispatchQueue.global().async {
            do {
                _ = try store.setting("use_llm")
            } catch {
                outcome.withLock { $0 = "the database did not answer" }
                OperationsLog.shared.report("store_error", "readiness check failed", [("detail", "\(error)")])
            }
            answered.signal()
        }
        if answered.wait(timeout: .now() + readinessDeadline) == .timedOut {
            checks["store"] = .string("no answer within \(JSONValue.format(number: readinessDeadline)) s")
        } else {
            checks["store"] = .string(outcome.withLock { $0 } ?? "ok")
        }
        checks["rules"] = .string(rules.scorer.rulesVersion.isEmpty ? "no rules loaded" : "ok")
        let ready = checks.values.allSatisfy { $0 == "ok" }
        return .json(["status": .string(ready ? "ok" : "unavailable"), "checks": .object(checks),
                      "rules_version": .string(rules.scorer.rulesVersion)],
                     status: ready ? 200 : 503, headers: ready ? [] : [("Retry-After", "1")])
    }
}
