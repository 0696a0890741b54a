import Dispatch

/// Starts work that reports through a completion handler and blocks until it has: the one bridge from the
/// stores' queued writes to callers that wait (synchronous store methods, imports, tests).
func waitForCompletion<T>(_ start: (@escaping @Sendable (Result<T, StoreError>) -> Void) -> Void) throws(StoreError) -> T {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var outcome: Result<T, StoreError>?
    start { result in
        outcome = result
        done.signal()
    }
    done.wait()
    return try outcome!.get()
}
