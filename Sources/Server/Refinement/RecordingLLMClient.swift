import Foundation
import RulesEngine

/// Passes calls to the live client and keeps their results, so a refiner can tell a failure worth retrying (a
/// timeout, a 5xx, a rate limit) from an answer. One per evaluation.
final class RecordingLLMClient: LLMClient, @unchecked Sendable {
    private let client: any LLMClient
    private let lock = NSLock()
    private var recorded: [LLMResult] = []

    init(_ client: any LLMClient) { self.client = client }

    func complete(_ request: LLMRequest) -> LLMResult {
        let result = client.complete(request)
        lock.lock()
        recorded.append(result)
        lock.unlock()
        return result
    }

    var results: [LLMResult] {
        lock.lock()
        defer { lock.unlock() }
        return recorded
    }
}
