/// The outcome of one fixture: the score (or the rules' error), whether it met the expectation, and the
/// breakdown when it did not (or when asked to keep them).
public struct FixtureResult: Sendable {
    public var fixture: Fixture
    public var score: Double?
    public var error: ScoringError?
    public var passed: Bool
    public var breakdown: Breakdown?
}

/// Runs golden fixtures through a Scorer: the same scoring path the server uses, with the LLM replayed from
/// the fixture's recorded reply. Scores without explanation first (fast), then explains the failures.
public struct FixtureRunner: Sendable {
    public let scorer: Scorer

    public init(scorer: Scorer) { self.scorer = scorer }

    /// The options a fixture is scored with: its `llm_enabled`, its recorded reply replayed.
    public static func options(for fixture: Fixture, explain: Bool) -> ScoringOptions {
        ScoringOptions(explain: explain, llmEnabled: fixture.llmEnabled, llm: .replay(fixture.llmReply))
    }

    /// Runs every fixture, on all cores. `explainPasses` keeps breakdowns for passing fixtures too.
    /// `progress` is told how many are done, now and then, from any thread.
    public func run(_ fixtures: [Fixture], explainPasses: Bool = false,
                    progress: (@Sendable (Int) -> Void)? = nil) -> [FixtureResult] {
        parallelMap(fixtures, chunk: 512, progress: progress) { run($0, explainPasses: explainPasses) }
    }

    /// Runs one fixture.
    public func run(_ fixture: Fixture, explainPasses: Bool = false) -> FixtureResult {
        let input = ScoringInput(text: fixture.message)
        do {
            let score = try scorer.score(input, options: FixtureRunner.options(for: fixture, explain: false))
            let passed = fixture.expected.accepts(score.value)
            var breakdown: Breakdown?
            if !passed || explainPasses {
                breakdown = try? scorer.score(input, options: FixtureRunner.options(for: fixture, explain: true)).breakdown
            }
            return FixtureResult(fixture: fixture, score: score.value, error: nil, passed: passed, breakdown: breakdown)
        } catch {
            return FixtureResult(fixture: fixture, score: nil, error: error, passed: false, breakdown: nil)
        }
    }
}
