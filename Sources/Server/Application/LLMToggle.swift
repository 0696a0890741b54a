import Foundation
import Synchronization

/// Whether the LLM step runs: persisted in the store (it survives restarts and is shared by every instance on
/// one database), read through a one-second cache so scoring does not query it per message.
public final class LLMToggle: Sendable {
    static let key = "use_llm"
    private let store: any SettingsStore
    private let cache = Mutex<(value: Bool, read: Date)>((false, .distantPast))
    private let ttl: TimeInterval

    /// Loads the persisted value; when none is stored yet, stores `initial` (from USE_LLM).
    public init(store: any SettingsStore, initial: Bool, ttl: TimeInterval = 1) throws(StoreError) {
        self.store = store
        self.ttl = ttl
        if let stored = try store.setting(LLMToggle.key) {
            cache.withLock { $0 = (stored == "true", Date()) }
        } else {
            try store.setSetting(LLMToggle.key, to: initial ? "true" : "false")
            cache.withLock { $0 = (initial, Date()) }
        }
    }

    /// The current value (at most `ttl` old; the last known value when the store cannot be read).
    public var isEnabled: Bool {
        let now = Date()
        let cached = cache.withLock { $0 }
        guard now.timeIntervalSince(cached.read) >= ttl else { return cached.value }
        let value = ((try? store.setting(LLMToggle.key)) ?? nil).map { $0 == "true" } ?? cached.value
        cache.withLock { $0 = (value, now) }
        return value
    }

    public func set(_ enabled: Bool) throws(StoreError) {
        try store.setSetting(LLMToggle.key, to: enabled ? "true" : "false")
        cache.withLock { $0 = (enabled, Date()) }
    }
}
