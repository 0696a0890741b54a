import Foundation
import Support

/// Where webhooks go and how they are sent: `WEBHOOK_URL` (one or more, comma-separated), `WEBHOOK_SECRET`
/// (`whsec_` + base64, as the Standard Webhooks specification has it), `WEBHOOK_EVENTS` (default all),
/// `WEBHOOK_MIN_URGENCY` (`message.created` only at or above it), and the timeout and retry schedule.
public struct WebhookConfiguration: Sendable {
    /// The event types there are.
    public static let eventTypes = ["message.created", "message.updated", "message.overdue", "rules.activated"]

    public var urls: [String] = []
    public var secret: String?
    /// Event types to send, or nil for all.
    public var events: [String]?
    public var minimumUrgency: Double?
    /// `WEBHOOK_TIMEOUT_MS`: one attempt's deadline.
    public var timeoutMilliseconds = 5000
    /// `WEBHOOK_RETRY_BASE_MS`: the wait before the first retry; each next one doubles (to at most an hour), ±50 %
    /// jitter.
    public var retryBaseMilliseconds = 1000
    /// `WEBHOOK_MAX_AGE`: seconds after which a delivery that never succeeded is marked failed (default 24 h).
    public var maximumAge: Double = 86_400
    /// Deliveries attempted at once (threads).
    public var senders = 4

    public init() {}

    /// Whether webhooks are on.
    public var isEnabled: Bool { !urls.isEmpty }

    /// The endpoints as the store keeps them.
    public var endpoints: [WebhookEndpoint] {
        urls.map { WebhookEndpoint(url: $0, events: events, minimumUrgency: minimumUrgency) }
    }

    /// The wait before retry number `attempt` (1 for the first retry), before jitter.
    public func retryDelay(attempt: Int) -> Double {
        min(3600, Double(retryBaseMilliseconds) / 1000 * pow(2, Double(max(0, attempt - 1))))
    }

    public static let variables: [(name: String, meaning: String)] = [
        ("WEBHOOK_URL", "where to POST events: one URL or several, comma-separated (default: none, webhooks off)"),
        ("WEBHOOK_SECRET", "whsec_ and base64: signs every delivery (Standard Webhooks); required with WEBHOOK_URL"),
        ("WEBHOOK_EVENTS", "event types to send, comma-separated (default all: message.created, message.updated, message.overdue, rules.activated)"),
        ("WEBHOOK_MIN_URGENCY", "message.created only for messages at or above this urgency (default: all)"),
        ("WEBHOOK_TIMEOUT_MS", "deadline of one delivery attempt (default 5000)"),
        ("WEBHOOK_RETRY_BASE_MS", "wait before the first retry, doubling after each (default 1000)"),
        ("WEBHOOK_MAX_AGE", "seconds a delivery is retried before it is marked failed (default 86400)"),
    ]

    /// Reads the variables through `value` (flags, environment, .env), validating each.
    static func load(_ value: (String) -> String?) throws(ConfigurationError) -> WebhookConfiguration {
        var configuration = WebhookConfiguration()
        if let list = value("WEBHOOK_URL") {
            configuration.urls = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            for url in configuration.urls {
                guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 8, !url.contains(where: \.isWhitespace) else {
                    throw ConfigurationError(message: "WEBHOOK_URL must be http:// or https:// URLs, got '\(url)'")
                }
            }
        }
        if let secret = value("WEBHOOK_SECRET"), !secret.isEmpty {
            do {
                _ = try WebhookSignature(secret: secret)
            } catch {
                throw ConfigurationError(message: "WEBHOOK_SECRET: \(error.description)")  // never echo the secret
            }
            configuration.secret = secret
        }
        if configuration.isEnabled && configuration.secret == nil {
            throw ConfigurationError(message: "WEBHOOK_URL needs WEBHOOK_SECRET (whsec_ and base64) to sign deliveries")
        }
        if let list = value("WEBHOOK_EVENTS"), !list.isEmpty, list != "*", list != "all" {
            let events = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for event in events where !eventTypes.contains(event) {
                throw ConfigurationError(message: "WEBHOOK_EVENTS: unknown event type '\(event)' (known: \(eventTypes.joined(separator: ", ")))")
            }
            configuration.events = events
        }
        if let text = value("WEBHOOK_MIN_URGENCY") {
            guard let urgency = Double(text), urgency.isFinite, urgency >= 0, urgency <= 100 else {
                throw ConfigurationError(message: "WEBHOOK_MIN_URGENCY must be a number from 0 to 100, got '\(text)'")
            }
            configuration.minimumUrgency = urgency
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError(message: "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
            }
            return number
        }
        if let milliseconds = try integer("WEBHOOK_TIMEOUT_MS", 1...120_000) { configuration.timeoutMilliseconds = milliseconds }
        if let milliseconds = try integer("WEBHOOK_RETRY_BASE_MS", 1...3_600_000) { configuration.retryBaseMilliseconds = milliseconds }
        if let seconds = try integer("WEBHOOK_MAX_AGE", 1...30 * 86_400) { configuration.maximumAge = Double(seconds) }
        return configuration
    }
}
