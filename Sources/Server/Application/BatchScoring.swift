import Foundation
import RulesEngine
import Synchronization

/// Scores many messages for an import or a rescore: in order on the calling thread when nothing can block, or
/// on `concurrency` threads when the LLM step may call a model (each such call waits on the network, and the
/// LLM client caps how many run at once anyway).
struct BatchScoring: Sendable {
    let scorer: Scorer
    let options: ScoringOptions
    let concurrency: Int

    /// The scores of `inputs`, in order; a message the rules fail on gets the fallback score and its error.
    func score(_ inputs: [ScoringInput]) -> [(score: Score, error: ScoringError?)] {
        let scorer = scorer, options = options
        guard concurrency > 1, inputs.count > 1 else { return inputs.map { scorer.scoreOrFallback($0, options: options) } }
        let results = Mutex<[Int: (score: Score, error: ScoringError?)]>([:])
        let next = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<min(concurrency, inputs.count) {
            group.enter()
            let thread = Thread {
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < inputs.count else { break }
                    let result = scorer.scoreOrFallback(inputs[index], options: options)
                    results.withLock { $0[index] = result }
                }
                group.leave()
            }
            thread.name = "batch-scoring"
            thread.start()
        }
        group.wait()
        return results.withLock { scored in inputs.indices.map { scored[$0]! } }
    }
}
