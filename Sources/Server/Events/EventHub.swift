import Foundation
import Support

/// Follows the store's event feed and fans each event out to the live subscribers of `GET /api/events`. One
/// thread does the following; subscribers are streams (no thread each). Events come from the store, so a
/// subscriber that reconnects with `Last-Event-ID` is sent what it missed, across restarts too, and on
/// PostgreSQL the events of every server on the database reach every server's subscribers. A stream opened with
/// an API key ends within about a second of the key being revoked or expiring (on any server of the fleet).
public final class EventHub: @unchecked Sendable {
    /// What a subscriber wants.
    public struct Filter: Sendable {
        /// Message events only for messages at or above this urgency (rules events always).
        public var minimumUrgency: Double?
        public init(minimumUrgency: Double? = nil) { self.minimumUrgency = minimumUrgency }

        func accepts(_ event: StoredEvent) -> Bool {
            guard let minimum = minimumUrgency, let message = event.message else { return true }
            return message.urgency >= minimum
        }
    }

    /// Events a reconnecting subscriber is sent at most; beyond it, a `resync` event.
    public static let replayLimit = 10_000
    /// Events kept in the store.
    public static let retainedEvents = 100_000
    /// Seconds between keep-alive comments.
    public let keepAliveInterval: Double
    /// Seconds between polls of the store when nothing committed here (other servers' events).
    public let pollInterval: Double

    private let store: any Store
    private let lock = NSLock()
    private var feed: (any EventFeed)?
    /// One open stream, what it wants, and the SHA-256 of the API key it was opened with (nil without one).
    private struct Subscriber {
        var stream: ResponseStream
        var filter: Filter
        var keyHash: String?
    }

    private var subscribers: [Subscriber] = []
    /// Whether the API key with this hash still lets its holder in (false also for one that was never valid);
    /// nil when that cannot be told now (the store is unreachable: streams stay open).
    private let keyIsActive: @Sendable (String) -> Bool?
    /// Seconds between checks of the keys that open streams were opened with.
    static let keyCheckInterval = 1.0
    private var stopping = false
    private let stopped = DispatchSemaphore(value: 0)
    private var thread: Thread?

    public init(store: any Store, keepAliveInterval: Double = 15, pollInterval: Double = 0.25,
                keyIsActive: @escaping @Sendable (String) -> Bool? = { _ in true }) {
        self.store = store
        self.keyIsActive = keyIsActive
        self.keepAliveInterval = keepAliveInterval
        self.pollInterval = pollInterval
    }

    /// Subscribers connected now.
    public var subscriberCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return subscribers.count
    }

    /// Starts following the feed.
    public func start() {
        let thread = Thread { [self] in
            nameCurrentThread("event-hub")
            run()
            stopped.signal()
        }
        self.thread = thread
        thread.start()
    }

    /// Ends every subscriber's stream and stops following.
    public func stop() {
        lock.lock()
        guard !stopping, thread != nil else {
            lock.unlock()
            return
        }
        stopping = true
        for subscriber in subscribers { subscriber.stream.finish() }
        subscribers = []
        lock.unlock()
        stopped.wait()
    }

    /// Adds a subscriber: when `lastEventID` is given, first the events after it that were already published
    /// (from the store), then everything new. `keyHash`: the API key the stream was opened with, whose revocation
    /// ends it. Throws when the store cannot be read.
    public func subscribe(_ stream: ResponseStream, filter: Filter, after lastEventID: Int64?, keyHash: String? = nil) throws(StoreError) {
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { throw StoreError("the server is shutting down") }
        let feed = try openFeed()
        stream.write(EventStreamFormat.opening)
        if let lastEventID {
            // What it missed, unless that is more than a stream may hold (then one resync event: reload).
            let missed = try feed.replay(after: lastEventID, limit: EventHub.replayLimit + 1)
            var bytes: [UInt8] = []
            for event in missed where filter.accepts(event) { bytes += EventStreamFormat.encode(event) }
            if missed.count > EventHub.replayLimit || bytes.count > stream.maximumPending / 2 {
                stream.write(EventStreamFormat.resync(lastID: max(feed.newestID, missed.last?.id ?? 0)))
            } else if !bytes.isEmpty {
                stream.write(bytes)
            }
        }
        subscribers.append(Subscriber(stream: stream, filter: filter, keyHash: keyHash))
    }

    private func openFeed() throws(StoreError) -> any EventFeed {
        if let feed { return feed }
        let opened = try store.openEventFeed()
        feed = opened
        return opened
    }

    private func run() {
        var lastKeepAlive = DispatchTime.now().uptimeNanoseconds
        var lastPrune: UInt64 = 0
        var lastKeyCheck: UInt64 = 0
        while true {
            let feed = lock.withLock { self.feed }
            if let feed { feed.waitForCommit(timeout: pollInterval) } else { usleep(UInt32(pollInterval * 1e6)) }
            let started = DispatchTime.now().uptimeNanoseconds
            lock.lock()
            if stopping {
                lock.unlock()
                return
            }
            publishNew()
            if Double(started - lastKeepAlive) / 1e9 >= keepAliveInterval {
                lastKeepAlive = started
                subscribers.removeAll { !$0.stream.write(EventStreamFormat.keepAlive) }
            }
            lock.unlock()
            if Double(started - lastKeyCheck) / 1e9 >= EventHub.keyCheckInterval {
                lastKeyCheck = started
                endStreamsOfRevokedKeys()
            }
            if lastPrune == 0 || Double(started - lastPrune) / 1e9 >= 60 {
                lastPrune = started
                try? store.pruneEvents(keeping: EventHub.retainedEvents)
            }
            // Under a write load the store commits hundreds of times a second: read the feed at most 20 times.
            let elapsed = DispatchTime.now().uptimeNanoseconds - started
            if elapsed < 50_000_000 { usleep(UInt32((50_000_000 - elapsed) / 1000)) }
        }
    }

    /// Ends the streams whose API key was revoked or expired (looked up once per key, without the lock held).
    private func endStreamsOfRevokedKeys() {
        let hashes = lock.withLock { Set(subscribers.compactMap(\.keyHash)) }
        guard !hashes.isEmpty else { return }
        let refused = hashes.filter { keyIsActive($0) == false }
        guard !refused.isEmpty else { return }
        lock.withLock {
            subscribers.removeAll { subscriber in
                guard let hash = subscriber.keyHash, refused.contains(hash) else { return false }
                subscriber.stream.finish()
                return true
            }
        }
    }

    /// Reads what the feed has and writes it to the subscribers that want it (lock held).
    private func publishNew() {
        guard let feed else { return }
        subscribers.removeAll { $0.stream.isOver }
        if subscribers.isEmpty {
            try? feed.skipToEnd()
            return
        }
        while let events = try? feed.poll(limit: 1000), !events.isEmpty {
            for event in events {
                let bytes = EventStreamFormat.encode(event)
                for subscriber in subscribers where subscriber.filter.accepts(event) { subscriber.stream.write(bytes) }
            }
            subscribers.removeAll { $0.stream.isOver }
            if events.count < 1000 { break }
        }
    }
}
