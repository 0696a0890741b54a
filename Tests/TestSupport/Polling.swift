import Foundation

/// Why a test gave up waiting.
public struct WaitTimeout: Error, CustomStringConvertible {
    public var description: String
}

/// Polls `condition` every 10 ms until it holds; how long that took. Throws after `timeout` seconds.
///
/// Tests wait for what they need to be true, never for a fixed time or a number of events, so they pass on a
/// loaded machine: the deadline is generous and only a real failure reaches it.
@discardableResult
public func waitUntil(_ what: String, timeout: TimeInterval = 10, _ condition: () throws -> Bool) throws -> TimeInterval {
    let started = Date()
    while true {
        if try condition() { return Date().timeIntervalSince(started) }
        guard Date().timeIntervalSince(started) < timeout else {
            throw WaitTimeout(description: "timed out after \(timeout) s waiting for \(what)")
        }
        usleep(10_000)
    }
}
