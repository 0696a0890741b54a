import Foundation

/// Which failed attempts are worth repeating, and how long to wait before the next one.
enum RetryPolicy {
    /// HTTP statuses a retry can help with: rate limiting (unless the quota is spent) and server trouble.
    static let retryableStatuses: Set<Int> = [429, 500, 502, 503, 504]

    /// The wait before attempt `attempt + 1`: what the server asked for (`retry-after-ms`, then `Retry-After` in
    /// seconds or as an HTTP date), else exponential backoff from 250 ms with jitter, at most 2 s.
    static func delay(after attempt: Int, retryAfter: String?, retryAfterMilliseconds: String?,
                      now: Date = Date()) -> TimeInterval {
        if let text = retryAfterMilliseconds, let milliseconds = Double(text), milliseconds.isFinite, milliseconds >= 0 {
            return milliseconds / 1000
        }
        if let text = retryAfter {
            if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return seconds }
            if let date = httpDate(text) { return max(0, date.timeIntervalSince(now)) }
        }
        let base = min(2.0, 0.25 * pow(2, Double(attempt - 1)))
        return base * Double.random(in: 0.5...1.0)
    }

    /// An IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`), as `Retry-After` may carry.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
