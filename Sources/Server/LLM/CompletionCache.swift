import Foundation
import RulesEngine
import Synchronization

/// Replies already paid for, by model, prompts and parameters: a repeated message does not call the model
/// twice. Least recently used entries go first once `capacity` is reached; entries expire after `ttl`.
final class CompletionCache: Sendable {
    struct Key: Hashable, Sendable {
        var model: String
        var request: LLMRequest
    }

    struct Entry: Sendable {
        var reply: String
        var finishReason: String?
        var storedAt: Date
    }

    private final class Node {
        let key: Key
        var entry: Entry
        var newer: Node?
        weak var older: Node?
        init(key: Key, entry: Entry) {
            self.key = key
            self.entry = entry
        }
    }

    /// A doubly linked list from the most recently used (`newest`) to the least (`oldest`), and an index.
    private struct Storage {
        var nodes: [Key: Node] = [:]
        var newest: Node?
        var oldest: Node?

        mutating func unlink(_ node: Node) {
            if let older = node.older { older.newer = node.newer } else { oldest = node.newer }
            if let newer = node.newer { newer.older = node.older } else { newest = node.older }
            node.newer = nil
            node.older = nil
        }

        mutating func pushNewest(_ node: Node) {
            node.older = newest
            newest?.newer = node
            newest = node
            if oldest == nil { oldest = node }
        }
    }

    let capacity: Int
    let ttl: TimeInterval
    private let storage: Mutex<Storage>

    init(capacity: Int, ttl: TimeInterval) {
        self.capacity = capacity
        self.ttl = ttl
        storage = Mutex(Storage())
    }

    var count: Int { storage.withLock { $0.nodes.count } }

    /// The cached reply for `key`, if present and fresh; marks it recently used.
    func value(for key: Key, at now: Date = Date()) -> Entry? {
        guard capacity > 0 else { return nil }
        return storage.withLock { storage in
            guard let node = storage.nodes[key] else { return nil }
            storage.unlink(node)
            guard now.timeIntervalSince(node.entry.storedAt) < ttl else {
                storage.nodes[key] = nil
                return nil
            }
            storage.pushNewest(node)
            return node.entry
        }
    }

    func store(_ entry: Entry, for key: Key) {
        guard capacity > 0 else { return }
        storage.withLock { storage in
            if let existing = storage.nodes[key] {
                existing.entry = entry
                storage.unlink(existing)
                storage.pushNewest(existing)
                return
            }
            let node = Node(key: key, entry: entry)
            storage.nodes[key] = node
            storage.pushNewest(node)
            while storage.nodes.count > capacity, let oldest = storage.oldest {
                storage.unlink(oldest)
                storage.nodes[oldest.key] = nil
            }
        }
    }
}
