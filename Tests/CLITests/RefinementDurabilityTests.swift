import Foundation
import Support
import TestSupport
import XCTest

/// No pending refinement is lost: a message queued for the background LLM step is stored with its queue row, so a
/// `kill -9` while the model is still thinking (some messages claimed, the rest waiting) loses nothing; after the
/// restart every message is refined, each once.
final class RefinementDurabilityTests: XCTestCase {
    func testRefinementsPendingAtKillNineAreAllDoneOnceAfterTheRestart() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-refine-kill-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appendingPathComponent("kill.db").path
        let model = try FakeOpenAIServer()
        defer { model.stop() }
        model.answerByDefault(.delay(60, then: .reply("3")))  // the model hangs until the kill
        let environment = ["USE_LLM": "true", "LLM_BASE_URL": model.baseURL, "LLM_API_KEY": "sk-test-kill", "LLM_TIMEOUT_MS": "1000",
                           "LLM_MAX_CONCURRENCY": "2", "LLM_MODE": "background"]
        let server = try ServerProcess(database: database, environment: environment)
        let client = TestHTTPClient(port: server.port)
        var ids: [Int] = []
        for index in 0..<6 {
            let sent = try client.request("POST", "/api/messages/send", json: ["user_id": 5, "message": .string("Nimeibiwa simu, block account #\(index)")])
            XCTAssertEqual(sent.status, 201, sent.text)
            XCTAssertEqual(sent.json?["llm"], "pending")
            ids.append(Int(sent.json?["message_id"]?.doubleValue ?? 0))
        }
        try waitUntil("the refiners to be waiting on the model") { model.inFlight == 2 }
        XCTAssertEqual(server.stop(signal: SIGKILL), SIGKILL)

        model.answerByDefault(.reply("3"))
        let restarted = try ServerProcess(database: database, environment: environment)
        defer { restarted.stop() }
        let after = TestHTTPClient(port: restarted.port)
        // The two claimed at the kill come back when their claim runs out (2 × the 1 s deadline + 5 s).
        try waitUntil("every message pending at the kill to be refined", timeout: 30) {
            try ids.allSatisfy { id in
                try after.request("GET", "/api/messages/\(id)").json?["breakdown"]?["llm"]?["state"] == "used"
            }
        }
        // Each refined once: one `refine` event per message in the feed, read back from the start up to a marker.
        XCTAssertEqual(try after.request("POST", "/api/messages/\(ids[0])/resolve").status, 200)
        let events = try EventStreamClient(port: restarted.port, headers: ["Last-Event-ID": "0"])
        defer { events.disconnect() }
        let feed = try events.events(until: { $0.json?["change"] == "resolve" }, timeout: 20)
        let refined = feed.filter { $0.json?["change"] == "refine" }.compactMap { $0.json?["message_id"]?.doubleValue }.map { Int($0) }
        XCTAssertEqual(refined.sorted(), ids, "each message refined exactly once")
        let status = try XCTUnwrap(try after.request("GET", "/api/llm/status").json)
        XCTAssertEqual(status["queue"]?["depth"]?.doubleValue, 0)
    }
}
