import Foundation
import Synchronization
import XCTest
@testable import Server
import Support
import TestSupport

/// What operators watch: /metrics in Prometheus' format (checked with Prometheus' own parser), /livez, /readyz,
/// and the operations log.
final class ObservabilityTests: XCTestCase {
    private struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private var server: TestServer?

    override func tearDown() {
        server?.stop()
        OperationsLog.shared.redirect(to: nil)
    }

    /// Prometheus' own text parser (prometheus_client, installed by `make tools`) over `text`: each sample as
    /// `name{label=value,…} value`, one per line, labels sorted.
    private func parseWithPrometheus(_ text: String) throws -> [String: Double] {
        let python = TestServer.repository.appendingPathComponent(".build/tools/bin/python3").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw Failure(description: "\(python) is missing: run `make tools` (prometheus_client checks the format)")
        }
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-metrics-\(UUID().uuidString).txt")
        try Data(text.utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for sample in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    print(f"{family.type} {sample.name}{{{labels}}} {sample.value}")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, input.path]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "prometheus_client refused the exposition: "
                + String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        var samples: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let value = Double(parts[2]) else { continue }
            samples[String(parts[1])] = value
        }
        return samples
    }

    func testMetricsAreValidPrometheusTextAndCountWhatHappened() throws {
        let server = try TestServer()
        self.server = server
        let client = server.client()
        for index in 0..<3 {
            XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 7, "message": .string("loan rejected \(index)")]).status, 201)
        }
        XCTAssertEqual(try client.request("GET", "/api/messages/424242").status, 404)
        XCTAssertEqual(try client.request("GET", "/no/such/path/123").status, 404)
        XCTAssertEqual(try client.request("POST", "/api/score", json: ["message": "hello"]).status, 200)
        let response = try client.request("GET", "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        let samples = try parseWithPrometheus(response.text)
        XCTAssertEqual(samples["urgencyiq_http_requests_total{code=201,method=POST,route=/api/messages/send}"], 3)
        XCTAssertEqual(samples["urgencyiq_http_requests_total{code=404,method=GET,route=/api/messages/{id}}"], 1)
        XCTAssertEqual(samples["urgencyiq_http_requests_total{code=404,method=GET,route=unmatched}"], 1)
        XCTAssertEqual(samples["urgencyiq_http_request_duration_seconds_count{route=/api/messages/send}"], 3)
        XCTAssertEqual(samples["urgencyiq_messages_scored_total{}"], 4)
        XCTAssertEqual(samples["urgencyiq_score_duration_seconds_count{}"], 4)
        XCTAssertEqual((1...5).map { samples["urgencyiq_urgency_level_total{level=\($0)}"] ?? 0 }.reduce(0, +), 4)
        XCTAssertEqual(samples["urgencyiq_rule_errors_total{}"], 0)
        XCTAssertEqual(samples["urgencyiq_open_messages{}"], 3)
        XCTAssertEqual(samples["urgencyiq_store_write_queue_depth{}"], 0)
        // The three messages are in the search index once it has caught up (at once where it is written with them).
        XCTAssertLessThanOrEqual(try XCTUnwrap(samples["urgencyiq_search_index_backlog{}"]), 3)
        try waitUntil("the search index to catch up") {
            try parseWithPrometheus(client.request("GET", "/metrics").text)["urgencyiq_search_index_backlog{}"] == 0
        }
        XCTAssertEqual(samples["urgencyiq_llm_circuit_open{}"], 0)
        let version = try XCTUnwrap(try client.request("GET", "/api/rules").json?["active"]?["version"]?.stringValue)
        XCTAssertEqual(samples["urgencyiq_rules_info{version=\(version)}"], 1)
        XCTAssertNotNil(samples["urgencyiq_rules_reloads_total{outcome=rejected}"])
        XCTAssertGreaterThan(samples["process_resident_memory_bytes{}"] ?? 0, 1_000_000)
        XCTAssertGreaterThan(samples["process_open_fds{}"] ?? 0, 0)
        XCTAssertGreaterThan(samples["process_start_time_seconds{}"] ?? 0, 1_700_000_000)
        XCTAssertNotNil(samples["process_cpu_seconds_total{}"])
        // No label carries an id or a path a client chose.
        for key in samples.keys {
            XCTAssertFalse(key.contains("424242") || key.contains("/no/such"), key)
        }
    }

    /// Label values (a rule's skip reason, say) are escaped whatever follows the character escaped: a combining
    /// mark after a quote or a backslash, a line feed after a carriage return.
    func testLabelValuesAreEscapedScalarByScalar() throws {
        XCTAssertEqual(PrometheusText.escapeLabel("a\"\u{301}b\r\nc\\\u{301}d\n"), "a\\\"\u{301}b\r\\nc\\\\\u{301}d\\n")
        var text = PrometheusText()
        text.family("test_samples_total", "counter", "Samples.")
        text.sample("test_samples_total", [("reason", "why:\"\u{301}quoted\\\u{301}")], 1)
        let samples = try parseWithPrometheus(text.text)  // prometheus_client's own parser reads it back
        XCTAssertEqual(samples["test_samples_total{reason=why:\"\u{301}quoted\\\u{301}}"], 1, "\(samples)")
    }

    /// The shipped Grafana dashboard only queries metrics the server exports.
    func testTheDashboardQueriesMetricsThatExist() throws {
        server = try TestServer()
        let exposition = try XCTUnwrap(server).client().request("GET", "/metrics").text
        let families = Set(exposition.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] }.map(String.init))
        let dashboard = try JSONParser.parse(Array(Data(contentsOf: TestServer.repository.appendingPathComponent("docs/grafana-dashboard.json"))))
        var used = Set<String>()
        for panel in dashboard["panels"]?.arrayValue ?? [] {
            for target in panel["targets"]?.arrayValue ?? [] {
                let expression = target["expr"]?.stringValue ?? ""
                let names = expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
                    .filter { $0.hasPrefix("urgencyiq_") || $0.hasPrefix("process_") }
                for name in names {
                    var family = String(name)
                    for suffix in ["_bucket", "_sum", "_count"] where family.hasSuffix(suffix) && !families.contains(family) {
                        family = String(family.dropLast(suffix.count))
                    }
                    used.insert(family)
                }
            }
        }
        XCTAssertGreaterThan(used.count, 10)
        XCTAssertEqual(used.subtracting(families), [], "the dashboard queries metrics the server does not export")
    }

    func testTheMetricsTokenProtectsThem() throws {
        server = try TestServer { $0.metricsToken = "scrape-me" }
        let client = try XCTUnwrap(server).client()
        XCTAssertEqual(try client.request("GET", "/metrics").status, 401)
        XCTAssertEqual(try client.request("GET", "/metrics", headers: ["Authorization": "Bearer nope"]).status, 403)
        XCTAssertEqual(try client.request("GET", "/metrics", headers: ["Authorization": "Bearer scrape-me"]).status, 200)
    }

    func testLivenessAndReadiness() throws {
        server = try TestServer()
        let client = try XCTUnwrap(server).client()
        XCTAssertEqual(try client.request("GET", "/livez").json, ["status": "ok"])
        let ready = try client.request("GET", "/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(ready.json?["checks"], ["store": "ok", "rules": "ok"])
        XCTAssertEqual(try client.request("GET", "/api/health").json, ["status": "ok"], "the seed's shape")
    }

    func testARuleFailureIsLoggedWithItsContext() throws {
        let rules = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-rules-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: rules, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: rules) }
        try Data("""
            fallback = 3
            function score(message, ctx)
              if message.text:find("boom") then error("cannot read this one") end
              return 2
            end
            """.utf8).write(to: rules.appendingPathComponent("urgency.lua"))
        let lines = Mutex<[String]>([])
        OperationsLog.shared.redirect { line in lines.withLock { $0.append(line) } }
        let directory = rules.path
        server = try TestServer { $0.rulesDirectory = directory }
        let client = try XCTUnwrap(server).client()
        let sent = try client.request("POST", "/api/messages/send", json: ["user_id": 9, "message": "boom goes the rule"])
        XCTAssertEqual(sent.status, 201)
        XCTAssertEqual(sent.json?["urgency"]?.doubleValue, 3, "stored with the fallback")
        let line = try XCTUnwrap(lines.withLock { $0 }.first { $0.contains("rule_error") })
        XCTAssertTrue(line.contains("stored with the fallback score: cannot read this one"), line)
        XCTAssertTrue(line.contains("file=urgency.lua:3"), line)
        XCTAssertTrue(line.contains("customer_id=9"), line)
        XCTAssertTrue(line.contains("message_id=\(Int(sent.json?["message_id"]?.doubleValue ?? 0))"), line)
        XCTAssertTrue(line.contains("rules_version="), line)
        let metrics = try client.request("GET", "/metrics").text
        XCTAssertTrue(metrics.contains("urgencyiq_rule_fallbacks_total 1\n"), metrics)
    }

    func testLLMFailuresAndTheCircuitAreLogged() throws {
        let fake = try FakeOpenAIServer()
        defer { fake.stop() }
        fake.answerByDefault(.status(500, body: "{\"error\": {\"message\": \"down\"}}"))
        let lines = Mutex<[String]>([])
        OperationsLog.shared.redirect { line in lines.withLock { $0.append(line) } }
        let baseURL = fake.baseURL
        server = try TestServer { configuration in
            configuration.llm.baseURL = baseURL
            configuration.llm.apiKey = "sk-test"
            configuration.llm.maximumRetries = 0
            configuration.llm.breakerFailures = 2
            configuration.llm.breakerCooldownMilliseconds = 300
            configuration.llm.mode = .inline  // each send calls the model: the failures come in the order the test reads
        }
        let client = try XCTUnwrap(server).client()
        XCTAssertEqual(try client.request("POST", "/api/set/llm", json: ["use_llm": true]).status, 200)
        for index in 0..<3 {
            XCTAssertEqual(try client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": .string("loan \(index)")]).status, 201)
        }
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.contains("llm_failure") && $0.contains("http 500") }, "\(lines.withLock { $0 })")
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.contains("llm_circuit") && $0.contains("opened after 2 failed calls") })
        // After the cooldown a probe goes out; the model answers again: the circuit closes, and says so.
        fake.answerByDefault(.reply("3"))
        try waitUntil("the probe to close the circuit") {
            _ = try client.request("POST", "/api/messages/send", json: ["user_id": 3, "message": "loan again"])
            return lines.withLock { $0 }.contains { $0.contains("llm_circuit") && $0.contains("closed") }
        }
        XCTAssertTrue(lines.withLock { $0 }.contains { $0.contains("half-open") })
        XCTAssertTrue(try client.request("GET", "/metrics").text.contains("urgencyiq_llm_requests_total{outcome=\"http 500\"} 2"))
    }

    func testRepeatsAreRateLimitedWithACount() throws {
        let log = OperationsLog(burst: 3, window: 0.3)
        let lines = Mutex<[String]>([])
        log.redirect { line in lines.withLock { $0.append(line) } }
        for index in 0..<50 { log.report("rule_error", "failure \(index)") }
        XCTAssertEqual(lines.withLock { $0.count }, 3, "a burst, then silence")
        log.report("llm_failure", "another kind is not held back")
        XCTAssertEqual(lines.withLock { $0.count }, 4)
        let windowEnds = Date().addingTimeInterval(0.35)
        try waitUntil("the window to pass") { Date() > windowEnds }
        log.report("rule_error", "after the window")
        let summary = try XCTUnwrap(lines.withLock { $0 }.first { $0.contains("suppressed") })
        XCTAssertTrue(summary.contains("47 more rule_error lines suppressed in the last 0.3 s"), summary)
        XCTAssertTrue(lines.withLock { $0.last }?.contains("after the window") ?? false)
        log.configure(format: .json)
        log.report("store_error", "json \"quoted\"", [("detail", "a\nb")])
        let json = try XCTUnwrap(JSONParser.parse(Array(try XCTUnwrap(lines.withLock { $0.last }).utf8)))
        XCTAssertEqual(json["kind"], "store_error")
        XCTAssertEqual(json["message"], "json \"quoted\"")
        XCTAssertEqual(json["detail"], "a\nb")
    }
}
