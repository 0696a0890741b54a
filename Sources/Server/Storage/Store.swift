import Foundation
import RulesEngine
import Support

/// Where tickets live: every role a store plays. Two implementations (SQLite, the embedded default; PostgreSQL
/// for fleets) pass the same contract test suite, role by role. Every method that returns normally has committed
/// what it did. A new kind of stored thing (an outbox, an event feed) is one more role protocol here, added to
/// this list and implemented by both stores.
public protocol Store: TicketStore, ImportStore, RescoreStore, SettingsStore, FleetStore, EventStore, RulesDeploymentStore, WebhookStore, OverdueStore,
    RefinementStore, AccessStore {
    /// Finishes pending writes and closes the store.
    func close()
}

/// The tickets: messages with their replies, status and assignment, and the customers' profiles. Writes queue
/// behind each other (`enqueue`); the synchronous ones below wait for theirs.
public protocol TicketStore: Sendable {
    /// Queues `write` behind the store's other writes and returns at once; `completion` runs (on any thread)
    /// once the write is committed, or failed. For callers that must not hold a thread while a write waits.
    func enqueue(_ write: StoreWrite, completion: @escaping @Sendable (Result<StoreWriteOutcome, StoreError>) -> Void)
    /// A page of messages with their replies, the number matching in all, and the cursor of the next page.
    func messages(_ query: MessageQuery) throws(StoreError) -> MessagePage
    /// One message with its replies, breakdown and rules version; nil when there is none with that id.
    func message(id: Int64) throws(StoreError) -> Message?
    /// A customer's profile; nil when the customer has no messages.
    func customer(id: Int64) throws(StoreError) -> CustomerProfile?
    /// Writes queued and not yet committed (for monitoring).
    var queuedWrites: Int { get }
    /// Messages stored but not yet in the search index (searches scan them until they are); 0 where the index is
    /// written with the messages (for monitoring).
    var searchIndexBacklog: Int { get }
}

/// Bulk loading: the seed's CSV exports.
public protocol ImportStore: Sendable {
    /// Stores a batch of imported messages in one transaction, skipping those already imported (same import
    /// key); reports what was added.
    func importMessages(_ batch: [NewMessage]) throws(StoreError) -> ImportBatchResult
    /// Updates the query planner's statistics after a bulk import, so the next queries are planned for the
    /// data that is there now.
    func refreshStatistics() throws(StoreError)
}

/// Scoring stored messages again after a rule change.
public protocol RescoreStore: Sendable {
    /// Messages to score again, in id order after `afterID`, at most `limit`, with the given status.
    func messagesToRescore(status: MessageQuery.StatusFilter, after afterID: Int64, limit: Int) throws(StoreError) -> [RescoreCandidate]
    /// Replaces the scores (urgency, rules version, breakdown) of messages, in one transaction.
    func updateScores(_ updates: [ScoreUpdate]) throws(StoreError)
}

/// Persisted settings (the LLM toggle), shared by every server on the store.
public protocol SettingsStore: Sendable {
    /// A setting's value, or nil.
    func setting(_ key: String) throws(StoreError) -> String?
    func setSetting(_ key: String, to value: String) throws(StoreError)
}

/// The fleet: the server processes working on this store.
public protocol FleetStore: Sendable {
    /// Records (or refreshes) a server process and the rules version it runs.
    func recordInstance(_ record: InstanceRecord) throws(StoreError)
    /// Forgets a server process (it stopped).
    func removeInstance(id: String) throws(StoreError)
    /// The server processes recorded on this store, oldest first: the fleet, for an operator mid-rollout.
    func instances() throws(StoreError) -> [InstanceRecord]
}

/// The event feed: every change to a ticket (created, replied to, assigned, unassigned, resolved) and each rules
/// activation, numbered and written in the same transaction as the change (by triggers), kept for a while so that
/// live subscribers (`GET /api/events`) can follow it and catch up after a reconnect or a restart.
public protocol EventStore: Sendable {
    /// Records an event that is not a ticket change (a rules activation), its details as JSON text; committed on return.
    func recordEvent(type: String, detail: String) throws(StoreError)
    /// A reader of the feed for one follower (a server's event hub), positioned at its end.
    func openEventFeed() throws(StoreError) -> any EventFeed
    /// Deletes all but the newest `keep` events.
    func pruneEvents(keeping keep: Int) throws(StoreError)
}

/// First responses that are late: each open, unanswered message past its due time is reported once, as a
/// `message.overdue` event (which live subscribers and webhooks then get).
public protocol OverdueStore: Sendable {
    /// Records a `message.overdue` event for up to `limit` messages that became overdue by `now` and were not
    /// reported yet (earliest due first), in one transaction; how many. On PostgreSQL servers do this at once
    /// without reporting a message twice.
    func reportOverdue(now: Timestamp, limit: Int) throws(StoreError) -> Int
    /// Open, unanswered messages past their due time at `now`.
    func overdueCount(now: Timestamp) throws(StoreError) -> Int
}

/// Webhook deliveries: one row per event and configured endpoint, written with the event (so never lost), claimed
/// by a sender when due (on PostgreSQL each by one server only), retried until delivered or too old.
public protocol WebhookStore: Sendable {
    /// Makes the enabled endpoints exactly `endpoints` (matched by URL; the others are disabled, so they get no new
    /// deliveries, while the ones they have keep being sent).
    func configureWebhookEndpoints(_ endpoints: [WebhookEndpoint]) throws(StoreError)
    /// Takes up to `limit` pending deliveries that are due at `now` and not claimed by another sender, oldest first,
    /// never one whose message has an earlier delivery still pending for the same endpoint (order per message).
    /// They stay claimed until `leaseUntil` (a sender that dies gives them back then).
    func claimWebhookDeliveries(now: Timestamp, limit: Int, leaseUntil: Timestamp) throws(StoreError) -> [WebhookDelivery]
    /// Records how attempts went, in one transaction.
    func finishWebhookDeliveries(_ results: [WebhookDeliveryResult]) throws(StoreError)
    /// The newest deliveries, newest first.
    func webhookDeliveries(limit: Int) throws(StoreError) -> [WebhookDelivery]
    /// Makes a delivery pending and due at `now` again (a failed one too): `.notFound` when there is none with that
    /// id, `.inFlight` while a sender holds it (it is being sent right now; nothing changes).
    func retryWebhookDelivery(id: Int64, now: Timestamp) throws(StoreError) -> WebhookRetryOutcome
    /// Deletes all but the newest `keep` deliveries that are no longer pending.
    func pruneWebhookDeliveries(keeping keep: Int) throws(StoreError)
}

/// What asking for a delivery to be sent again did.
public enum WebhookRetryOutcome: Sendable, Equatable { case queued, notFound, inFlight }

/// Where webhooks go and which events each wants.
public struct WebhookEndpoint: Sendable, Equatable {
    public var url: String
    /// Event types, or nil for all.
    public var events: [String]?
    /// `message.created` only for messages at or above this urgency.
    public var minimumUrgency: Double?

    public init(url: String, events: [String]? = nil, minimumUrgency: Double? = nil) {
        self.url = url
        self.events = events
        self.minimumUrgency = minimumUrgency
    }
}

/// One event for one endpoint: what to send and how the attempts went.
public struct WebhookDelivery: Sendable, Equatable {
    public enum Status: String, Sendable { case pending, delivered, failed }
    public var id: Int64
    public var eventID: Int64
    public var url: String
    public var type: String
    public var change: String?
    public var detail: String?
    public var status: Status
    public var attempts: Int
    public var createdAt: Timestamp
    public var nextAttemptAt: Timestamp
    public var lastAttemptAt: Timestamp?
    public var lastStatus: Int?
    public var lastError: String?
    /// The JSON sent, fixed at the first attempt (nil before it).
    public var body: String?
    /// The claim that holds it: when its lease ends (recording the outcome checks the claim is still this one).
    public var lockedUntil: Timestamp?
    /// The message as it is now (message events), with its whole text.
    public var message: EventMessage?
    public var messageText: String?

    public init(id: Int64, eventID: Int64, url: String, type: String, change: String?, detail: String?, status: Status, attempts: Int,
                createdAt: Timestamp, nextAttemptAt: Timestamp, lastAttemptAt: Timestamp?, lastStatus: Int?, lastError: String?,
                body: String?, message: EventMessage?, messageText: String?) {
        self.id = id
        self.eventID = eventID
        self.url = url
        self.type = type
        self.change = change
        self.detail = detail
        self.status = status
        self.attempts = attempts
        self.createdAt = createdAt
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastStatus = lastStatus
        self.lastError = lastError
        self.body = body
        self.message = message
        self.messageText = messageText
    }
}

extension WebhookDelivery {
    /// The same delivery with the lease it is claimed under (microseconds), if any.
    func withLock(_ microseconds: Int64?) -> WebhookDelivery {
        var copy = self
        copy.lockedUntil = microseconds.map(Timestamp.init(microseconds:))
        return copy
    }
}

/// How one delivery attempt went.
public struct WebhookDeliveryResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case delivered
        /// Try again at this time.
        case retry(at: Timestamp)
        /// Given up (too old).
        case failed
    }

    public var id: Int64
    /// The claim's lease the attempt was made under: an outcome is recorded only while the claim is still that one
    /// (a sender whose lease ran out and was claimed again by another records nothing).
    public var claim: Timestamp?
    public var body: String
    public var attemptedAt: Timestamp
    public var httpStatus: Int?
    public var error: String?
    public var outcome: Outcome

    /// The body to keep with the delivery: what a later attempt must send again (the same payload, as Standard
    /// Webhooks asks), so nothing once it is delivered (the listing never shows it; not writing it spares the
    /// store's writer most of a delivery's bytes).
    var bodyToKeep: String? {
        if case .delivered = outcome { return nil }
        return body
    }

    /// The delivery's status after this attempt, and its next attempt's time when there is one (microseconds).
    var storedStatus: (status: String, nextAttempt: Int64?) {
        switch outcome {
        case .delivered: ("delivered", nil)
        case .retry(let at): ("pending", at.microseconds)
        case .failed: ("failed", nil)
        }
    }

    public init(id: Int64, claim: Timestamp? = nil, body: String, attemptedAt: Timestamp, httpStatus: Int?, error: String?,
                outcome: Outcome) {
        self.id = id
        self.claim = claim
        self.body = body
        self.attemptedAt = attemptedAt
        self.httpStatus = httpStatus
        self.error = error
        self.outcome = outcome
    }
}

extension WebhookStore {
    /// Records how one attempt went.
    public func finishWebhookDelivery(_ result: WebhookDeliveryResult) throws(StoreError) { try finishWebhookDeliveries([result]) }
}

/// Rule sets deployed through the API (`PUT /api/rules`), so that every server of a fleet on one PostgreSQL
/// database pulls and activates the latest (on SQLite, with one server, the rules directory stays the source).
public protocol RulesDeploymentStore: Sendable {
    /// Records a deployed rule set; its id (increasing).
    @discardableResult
    func recordDeployment(_ deployment: RulesDeployment) throws(StoreError) -> Int64
    /// The latest deployment's id, 0 when there is none: cheap, for polling.
    func latestDeploymentID() throws(StoreError) -> Int64
    /// The latest deployment with its files.
    func latestDeployment() throws(StoreError) -> RulesDeployment?
}

/// A rule set as deployed: its files, its version, who deployed it from which server and when.
public struct RulesDeployment: Sendable, Equatable {
    public var id: Int64
    public var version: String
    /// Path → source.
    public var files: [String: String]
    public var deployedAt: Timestamp
    public var deployedBy: String
    public var instance: String

    public init(id: Int64 = 0, version: String, files: [String: String], deployedAt: Timestamp, deployedBy: String, instance: String) {
        self.id = id
        self.version = version
        self.files = files
        self.deployedAt = deployedAt
        self.deployedBy = deployedBy
        self.instance = instance
    }
}

/// One follower's position in the event feed. Not thread-safe: one thread polls it.
public protocol EventFeed: AnyObject {
    /// The events committed since the previous poll, oldest first, at most `limit`; the rest come next time.
    func poll(limit: Int) throws(StoreError) -> [StoredEvent]
    /// Moves to the end of the feed without reading what is skipped (nobody is listening).
    func skipToEnd() throws(StoreError)
    /// Events with an id above `id` that earlier polls returned (or skipped), oldest first, at most `limit`:
    /// what a subscriber reconnecting with `Last-Event-ID: id` missed.
    func replay(after id: Int64, limit: Int) throws(StoreError) -> [StoredEvent]
    /// The highest event id polled or skipped so far: where a subscriber that must reload stands.
    var newestID: Int64 { get }
    /// Waits up to `timeout` seconds for a commit on this server's store connection, or returns at once when one
    /// happened since the last call. (Other servers' commits are seen by polling.)
    func waitForCommit(timeout: Double)
}

/// One event of the feed, with the message it concerns as it is now.
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    /// `message.created`, `message.updated` or `rules.activated`.
    public var type: String
    /// For `message.updated`: `reply`, `assign`, `unassign`, `resolve`.
    public var change: String?
    /// For events that are not about a message: their details as JSON text.
    public var detail: String?
    /// The message, for message events (nil when it no longer exists).
    public var message: EventMessage?

    public init(id: Int64, type: String, change: String? = nil, detail: String? = nil, message: EventMessage? = nil) {
        self.id = id
        self.type = type
        self.change = change
        self.detail = detail
        self.message = message
    }
}

/// What an event tells about its message: enough to place it in a queue without fetching it.
public struct EventMessage: Sendable, Equatable {
    public var id: Int64
    public var customerID: Int64
    public var urgency: Double
    public var status: MessageStatus
    public var assignedTo: String?
    public var createdAt: Timestamp
    /// The first 200 characters of the message.
    public var preview: String

    public init(id: Int64, customerID: Int64, urgency: Double, status: MessageStatus, assignedTo: String?, createdAt: Timestamp,
                preview: String) {
        self.id = id
        self.customerID = customerID
        self.urgency = urgency
        self.status = status
        self.assignedTo = assignedTo
        self.createdAt = createdAt
        self.preview = preview
    }
}

/// Wakes a waiting event feed when its store commits.
public final class CommitSignal: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending = false

    public init() {}

    /// A transaction committed.
    public func signal() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    /// Returns when a commit happened since the last call, or after `timeout` seconds.
    public func wait(timeout: Double) {
        condition.lock()
        if !pending { _ = condition.wait(until: Date(timeIntervalSinceNow: timeout)) }
        pending = false
        condition.unlock()
    }
}

/// The synchronous writes, for every ticket store: each is the queued write, waited for.
extension TicketStore {
    /// Queues `write` and waits until it is committed.
    public func perform(_ write: StoreWrite) throws(StoreError) -> StoreWriteOutcome {
        try waitForCompletion { enqueue(write, completion: $0) }
    }

    /// Stores a new message (creating its customer when new) and returns its id.
    public func insertMessage(_ message: NewMessage) throws(StoreError) -> Int64 {
        guard case .inserted(let id) = try perform(.insert(message)) else { return 0 }
        return id
    }

    /// Adds a reply; false when the message does not exist.
    public func addReply(messageID: Int64, agentName: String, text: String, at time: Timestamp) throws(StoreError) -> Bool {
        try perform(.reply(messageID: messageID, agentName: agentName, text: text, at: time)).found
    }

    /// Marks a message resolved; false when it does not exist.
    public func resolve(messageID: Int64) throws(StoreError) -> Bool { try perform(.resolve(messageID: messageID)).found }

    /// Assigns a message to an agent at `time`; false when it does not exist.
    public func assign(messageID: Int64, to agent: String, at time: Timestamp) throws(StoreError) -> Bool {
        try perform(.assign(messageID: messageID, agent: agent, at: time)).found
    }

    /// Clears the assignment; false when the message does not exist.
    public func unassign(messageID: Int64) throws(StoreError) -> Bool { try perform(.unassign(messageID: messageID)).found }
}

/// A server process working on a store: where it runs, since when, and which rules version it serves.
public struct InstanceRecord: Sendable, Equatable {
    public var id: String
    public var host: String
    public var pid: Int
    public var startedAt: Timestamp
    public var rulesVersion: String
    public var rulesActivatedAt: Timestamp
    /// Its last heartbeat.
    public var lastSeen: Timestamp

    public init(id: String, host: String, pid: Int, startedAt: Timestamp, rulesVersion: String, rulesActivatedAt: Timestamp,
                lastSeen: Timestamp) {
        self.id = id
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.rulesVersion = rulesVersion
        self.rulesActivatedAt = rulesActivatedAt
        self.lastSeen = lastSeen
    }
}

/// A stored message to score again.
public struct RescoreCandidate: Sendable, Equatable {
    public var id: Int64
    public var customerID: Int64
    public var body: String
    public var urgency: Double
    /// When it arrived (its first-response due time is counted from it).
    public var createdAt: Timestamp = Timestamp(microseconds: 0)
}

/// A message's new score.
public struct ScoreUpdate: Sendable, Equatable {
    public var id: Int64
    public var urgency: Double
    public var rulesVersion: String
    public var breakdownJSON: String
    /// The first-response due time under the new rules (nil: they set no target for its urgency).
    public var responseDue: Timestamp?

    public init(id: Int64, urgency: Double, rulesVersion: String, breakdownJSON: String, responseDue: Timestamp? = nil) {
        self.responseDue = responseDue
        self.id = id
        self.urgency = urgency
        self.rulesVersion = rulesVersion
        self.breakdownJSON = breakdownJSON
    }
}

extension ResponseTargets {
    /// When a message that arrived at `createdAt` with urgency `score` must first be answered; nil without a target.
    public func due(createdAt: Timestamp, score: Double) -> Timestamp? {
        seconds(forScore: score).map { Timestamp(microseconds: createdAt.microseconds + Int64($0 * 1e6)) }
    }
}

/// A write that can be queued without waiting for it.
public enum StoreWrite: Sendable {
    case insert(NewMessage)
    case reply(messageID: Int64, agentName: String, text: String, at: Timestamp)
    case resolve(messageID: Int64)
    case assign(messageID: Int64, agent: String, at: Timestamp)
    case unassign(messageID: Int64)
    /// The write, with the audit entry recorded in its transaction when it changed a message (not for one that
    /// does not exist).
    indirect case audited(StoreWrite, AuditEntry)
}

extension StoreWrite {
    /// The write itself and the audit entry that goes with it, if any.
    var withoutAudit: (write: StoreWrite, audit: AuditEntry?) {
        if case .audited(let inner, let entry) = self { return (inner.withoutAudit.write, entry) }
        return (self, nil)
    }
}

/// What a queued write did: the new message's id, or whether the message it changed exists.
public enum StoreWriteOutcome: Sendable, Equatable {
    case inserted(id: Int64)
    case applied(found: Bool)

    /// Whether the message the write concerned exists (an insert always does).
    public var found: Bool {
        if case .applied(let found) = self { return found }
        return true
    }
}

/// A storage failure: the request cannot be served now (503), not the caller's fault.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A message to store.
public struct NewMessage: Sendable, Equatable {
    public var customerID: Int64
    public var body: String
    public var createdAt: Timestamp
    public var urgency: Double
    public var rulesVersion: String
    /// The breakdown, kept only as its JSON text: encoded where the message is made, so that neither the encoding
    /// nor freeing a tree of values falls to the store's single writer thread.
    public var breakdown: JSONValue {
        get { (try? JSONParser.parse(Array(breakdownJSON.utf8))) ?? .null }
        set { breakdownJSON = newValue.jsonText }
    }
    /// The breakdown as JSON text (a JSON document: the stores keep it as it is).
    public var breakdownJSON: String
    /// Set for imported rows: a hash of customer, time and body that makes re-imports add nothing.
    public var importKey: String?
    /// When it must first be answered (the rules' sla for its urgency), if the rules set a target.
    public var responseDue: Timestamp?
    /// Set when the rules asked for the model's opinion and the LLM step runs in the background: the message is
    /// queued for a refiner (in its own transaction), at this priority (its keyword score).
    public var refinementPriority: Double?

    public init(customerID: Int64, body: String, createdAt: Timestamp, urgency: Double, rulesVersion: String,
                breakdown: JSONValue, importKey: String? = nil, responseDue: Timestamp? = nil) {
        self.init(customerID: customerID, body: body, createdAt: createdAt, urgency: urgency, rulesVersion: rulesVersion,
                  breakdownJSON: breakdown.jsonText, importKey: importKey, responseDue: responseDue)
    }

    public init(customerID: Int64, body: String, createdAt: Timestamp, urgency: Double, rulesVersion: String,
                breakdownJSON: String, importKey: String? = nil, responseDue: Timestamp? = nil) {
        self.responseDue = responseDue
        self.customerID = customerID
        self.body = body
        self.createdAt = createdAt
        self.urgency = urgency
        self.rulesVersion = rulesVersion
        self.breakdownJSON = breakdownJSON
        self.importKey = importKey
    }
}

public enum MessageStatus: String, Sendable {
    case open, resolved
}

/// An agent's reply to a message.
public struct Reply: Sendable, Equatable {
    public var agentName: String
    public var text: String
    public var createdAt: Timestamp

    public init(agentName: String, text: String, createdAt: Timestamp) {
        self.agentName = agentName
        self.text = text
        self.createdAt = createdAt
    }
}

/// A stored message as the API shows it.
public struct Message: Sendable, Equatable {
    public var id: Int64
    public var customerID: Int64
    public var body: String
    public var createdAt: Timestamp
    public var urgency: Double
    public var status: MessageStatus
    public var assignedTo: String?
    public var assignedAt: Timestamp?
    public var replies: [Reply]
    /// When it must first be answered (the rules' sla), and when it was (the first reply).
    public var responseDue: Timestamp?
    public var firstResponseAt: Timestamp?
    /// Filled by `message(id:)` only.
    public var rulesVersion: String?
    public var breakdown: JSONValue?

    public init(id: Int64, customerID: Int64, body: String, createdAt: Timestamp, urgency: Double, status: MessageStatus,
                assignedTo: String?, assignedAt: Timestamp?, replies: [Reply], rulesVersion: String? = nil,
                breakdown: JSONValue? = nil, responseDue: Timestamp? = nil, firstResponseAt: Timestamp? = nil) {
        self.responseDue = responseDue
        self.firstResponseAt = firstResponseAt
        self.id = id
        self.customerID = customerID
        self.body = body
        self.createdAt = createdAt
        self.urgency = urgency
        self.status = status
        self.assignedTo = assignedTo
        self.assignedAt = assignedAt
        self.replies = replies
        self.rulesVersion = rulesVersion
        self.breakdown = breakdown
    }
}

extension Message {
    /// Open, unanswered and past its first-response due time.
    public func isOverdue(at now: Timestamp) -> Bool {
        guard status == .open, firstResponseAt == nil, let due = responseDue else { return false }
        return due.microseconds < now.microseconds
    }
}

/// A customer's profile.
public struct CustomerProfile: Sendable, Equatable {
    public var id: Int64
    public var totalMessages: Int
    public var openMessages: Int
    public var resolvedMessages: Int
    public var averageUrgency: Double
    public var firstContact: Timestamp
    public var lastContact: Timestamp
    /// Open messages not answered by their first-response due time (as of the query).
    public var overdueMessages: Int = 0
}

/// What one import batch added.
public struct ImportBatchResult: Sendable, Equatable {
    public var messagesAdded: Int
    public var customersAdded: Int

    public init(messagesAdded: Int, customersAdded: Int) {
        self.messagesAdded = messagesAdded
        self.customersAdded = customersAdded
    }
}

extension RulesDeployment {
    /// The files as stored: a JSON object, path → source.
    static func encode(_ files: [String: String]) -> String { JSONValue.object(files.mapValues(JSONValue.string)).jsonText }

    /// The files from their stored form (an unreadable one gives no files, which no server activates).
    static func decode(_ text: String) -> [String: String] {
        guard case .object(let members)? = try? JSONParser.parse(Array(text.utf8)) else { return [:] }
        return members.compactMapValues(\.stringValue)
    }
}
