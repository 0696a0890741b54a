/// What to score: the message text and, when known, the customer who sent it.
public struct ScoringInput: Sendable, Equatable {
    public var text: String
    public var customerID: Int64?

    public init(text: String, customerID: Int64? = nil) {
        self.text = text
        self.customerID = customerID
    }
}

/// How to score: whether to build the breakdown, whether the LLM step may run and where it gets its answers.
public struct ScoringOptions: Sendable, Equatable {
    /// Ask the rules for their breakdown (`ctx.explain`). Without it rules may skip building one, which is
    /// what bulk scoring and the fixture harness do for speed.
    public var explain: Bool
    /// Whether the LLM step is enabled at run time (`ctx.llm_enabled`).
    public var llmEnabled: Bool
    /// Where `llm.complete` gets its answers during this evaluation.
    public var llm: LLMSource

    public init(explain: Bool = true, llmEnabled: Bool = false, llm: LLMSource = .unconfigured) {
        self.explain = explain
        self.llmEnabled = llmEnabled
        self.llm = llm
    }
}

/// Where `llm.complete` gets its answers for one evaluation.
public enum LLMSource: Sendable, Equatable {
    /// No LLM client: every call answers nil, "not configured".
    case unconfigured
    /// A recorded reply, replayed instead of calling any model, so blended rules are deterministic (the fixture
    /// harness). nil: no reply was recorded, and the call answers nil, "no recorded reply".
    case replay(String?)
    /// A live client (the server's libcurl transport, or `check --live-llm`).
    case live(any LLMClient)

    public static func == (left: LLMSource, right: LLMSource) -> Bool {
        switch (left, right) {
        case (.unconfigured, .unconfigured): true
        case let (.replay(a), .replay(b)): a == b
        case let (.live(a), .live(b)): a === b
        default: false
        }
    }
}
