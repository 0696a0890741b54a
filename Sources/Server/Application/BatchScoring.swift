import RulesEngine
import Support

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
        return parallelMap(inputs, .threads(concurrency)) { scorer.scoreOrFallback($0, options: options) }
    }
}
