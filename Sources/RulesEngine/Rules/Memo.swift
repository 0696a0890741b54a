import Synchronization

/// Values built once per key and shared: built outside the lock (a build can take a while), and when two threads
/// build the same key at once, the first stored wins.
final class Memo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])

    func value<Failure: Error>(for key: Key, build: () throws(Failure) -> Value) throws(Failure) -> Value {
        if let cached = values.withLock({ $0[key] }) { return cached }
        let built = try build()
        return values.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = built
            return built
        }
    }
}
