import Foundation

/// A moment on the monotonic clock after which long work (a fixture check, a reload's gate) stops.
public struct Deadline: Sendable {
    private let uptimeNanoseconds: UInt64
    /// The budget it was made with, for messages.
    public let seconds: Double

    /// `seconds` from now.
    public init(seconds: Double) {
        self.seconds = seconds
        uptimeNanoseconds = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
    }

    public var hasPassed: Bool { DispatchTime.now().uptimeNanoseconds > uptimeNanoseconds }
}

/// Work that stopped at its deadline: how much of it was done.
public struct DeadlineExceeded: Error, Sendable, CustomStringConvertible {
    public var done: Int
    public var total: Int
    public var seconds: Double

    public var description: String {
        "ran out of time: \(done) of \(total) scored within the \(String(format: "%g", seconds)) s budget"
    }
}
