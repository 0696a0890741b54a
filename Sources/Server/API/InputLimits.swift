/// Limits on what clients may send, beyond the HTTP body limit.
public struct InputLimits: Sendable, Equatable {
    public var messageLength = 20_000
    public var replyLength = 20_000
    public var agentNameLength = 200

    public init() {}
}
