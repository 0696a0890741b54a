import Foundation
import RulesEngine
import Synchronization
import Support

/// This server's entry in the store's fleet table: recorded at start, refreshed when a rules version is
/// activated and every `heartbeat` seconds, removed at shutdown. With several servers on one database, an
/// operator sees which one runs which rules version (`GET /api/rules`, `fleet`).
public final class InstanceRegistry: Sendable {
    public let id: String
    private let host: String
    private let startedAt = Timestamp.now()
    private let store: any FleetStore
    private let rules: ActiveRules
    private let heartbeat: TimeInterval
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    /// An instance not seen for this long is shown as stale.
    public static let staleAfter: TimeInterval = 60

    public init(store: any FleetStore, rules: ActiveRules, heartbeat: TimeInterval = 15) {
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count - 1)
        host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        id = "\(host)-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
        self.store = store
        self.rules = rules
        self.heartbeat = heartbeat
    }

    /// Records the instance now and keeps it fresh on a thread of its own.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        refresh()
        let thread = Thread { [self] in
            var next = Date().addingTimeInterval(heartbeat)
            while !stopping.load(ordering: .acquiring) {
                usleep(100_000)
                if Date() >= next {
                    refresh()
                    next = Date().addingTimeInterval(heartbeat)
                }
            }
            finished.signal()
        }
        thread.name = "instance-heartbeat"
        thread.start()
    }

    /// Writes the current rules version and a fresh heartbeat (a store outage is tolerated: the next one
    /// catches up).
    public func refresh() {
        try? store.recordInstance(record)
    }

    /// What this instance looks like right now.
    public var record: InstanceRecord {
        InstanceRecord(id: id, host: host, pid: Int(getpid()), startedAt: startedAt, rulesVersion: rules.scorer.rulesVersion,
                       rulesActivatedAt: Timestamp(rules.activatedAt), lastSeen: .now())
    }

    /// Stops the heartbeat and removes the entry (once; before `start` there is no heartbeat to wait for).
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        guard started.load(ordering: .acquiring) else { return }
        finished.wait()
        try? store.removeInstance(id: id)
    }

    /// The fleet as JSON: every recorded instance, whether it is this one, and whether it is still alive.
    /// The servers sharing the store and their rules versions; `identified` adds what names a machine and a
    /// process (id, host, pid), which only admins see.
    public func fleet(identified: Bool) -> JSONValue {
        guard let instances = try? store.instances() else { return .null }
        let now = Timestamp.now()
        return .array(instances.map { instance in
            var entry: [String: JSONValue] = [
                "started_at": .string(instance.startedAt.isoformat), "rules_version": .string(instance.rulesVersion),
                "rules_activated_at": .string(instance.rulesActivatedAt.isoformat), "last_seen": .string(instance.lastSeen.isoformat),
                "this": .bool(instance.id == id),
                "stale": .bool(Double(now.microseconds - instance.lastSeen.microseconds) / 1e6 > InstanceRegistry.staleAfter),
            ]
            if identified {
                entry["id"] = .string(instance.id)
                entry["host"] = .string(instance.host)
                entry["pid"] = .integer(Int64(instance.pid))
            }
            return .object(entry)
        })
    }
}
