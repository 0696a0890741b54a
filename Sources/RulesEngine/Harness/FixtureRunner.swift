import Support
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
/// the fixture's recorded reply (or, with a live client, asked for real). Scores without explanation first
/// (fast), then explains the failures.
public struct FixtureRunner: Sendable {
    public let scorer: Scorer
    /// Calls this model instead of replaying the recorded replies (`check --live-llm`), or nil.
    public let liveLLM: (any LLMClient)?

    public init(scorer: Scorer, liveLLM: (any LLMClient)? = nil) {
        self.scorer = scorer
        self.liveLLM = liveLLM
    }

    /// The options a fixture is scored with: its `llm_enabled`, its recorded reply replayed (or `live`).
    public static func options(for fixture: Fixture, explain: Bool, live: (any LLMClient)? = nil) -> ScoringOptions {
        ScoringOptions(explain: explain, llmEnabled: fixture.llmEnabled, llm: live.map { .live($0) } ?? .replay(fixture.llmReply))
    }

    /// Runs every fixture, on all cores. `explainPasses` keeps breakdowns for passing fixtures too.
    /// `progress` is told how many are done, now and then, from any thread.
    public func run(_ fixtures: [Fixture], explainPasses: Bool = false,
                    progress: (@Sendable (Int) -> Void)? = nil) -> [FixtureResult] {
        parallelMap(fixtures, .cores(chunk: 512), progress: progress) { run($0, explainPasses: explainPasses) }
    }

    /// Runs every fixture unless `deadline` passes first (a candidate check, a reload's gate): a rule that
    /// stays just under its per-message budget cannot make the whole run take minutes.
    public func run(_ fixtures: [Fixture], deadline: Deadline) throws(DeadlineExceeded) -> [FixtureResult] {
        try parallelMap(fixtures, .cores(chunk: 16), deadline: deadline) { run($0) }
    }

    /// Runs one fixture.
    public func run(_ fixture: Fixture, explainPasses: Bool = false) -> FixtureResult {
        let input = ScoringInput(text: fixture.message)
        do {
            // A live model may answer differently each time: one explained call, not a quick one and a second.
            let explainNow = liveLLM != nil && fixture.llmEnabled
            let score = try scorer.score(input, options: FixtureRunner.options(for: fixture, explain: explainNow, live: liveLLM))
            if explainNow {
                return FixtureResult(fixture: fixture, score: score.value, error: nil,
                                     passed: fixture.expected?.accepts(score.value) ?? true, breakdown: score.breakdown)
            }
            let passed = fixture.expected?.accepts(score.value) ?? true
            var breakdown: Breakdown?
            if !passed || explainPasses {
                breakdown = try? scorer.score(input, options: FixtureRunner.options(for: fixture, explain: true, live: liveLLM)).breakdown
            }
            return FixtureResult(fixture: fixture, score: score.value, error: nil, passed: passed, breakdown: breakdown)
        } catch {
            return FixtureResult(fixture: fixture, score: nil, error: error, passed: fixture.expected == nil, breakdown: nil)
        }
    }
}
