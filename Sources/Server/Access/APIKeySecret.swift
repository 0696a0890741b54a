import Support

/// A new API key: `uiq_` and 43 characters of base64url, 256 random bits from the system's generator. Shown once,
/// at creation; the store keeps only its SHA-256 (enough for a key this random: no salt or slow hash is needed
/// to stop guessing).
public struct APIKeySecret: Sendable {
    public static let prefix = "uiq_"
    /// The key, to hand to its holder once.
    public let key: String

    public init() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        key = APIKeySecret.prefix + Base64URL.encode(bytes)
    }

    /// The SHA-256 of a key as presented, lowercase hex: what the store looks keys up by.
    public static func hash(_ key: String) -> String { SHA256.hex(key.utf8) }

    /// The part of the key lists show: the prefix and 4 characters.
    public var displayPrefix: String { String(key.prefix(APIKeySecret.prefix.count + 4)) }
}
