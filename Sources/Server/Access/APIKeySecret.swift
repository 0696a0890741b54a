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
        key = APIKeySecret.prefix + APIKeySecret.base64URL(bytes)
    }

    /// The SHA-256 of a key as presented, lowercase hex: what the store looks keys up by.
    public static func hash(_ key: String) -> String {
        var digest = SHA256()
        digest.update(key.utf8)
        return digest.finalizeHex()
    }

    /// The part of the key lists show: the prefix and 4 characters.
    public var displayPrefix: String { String(key.prefix(APIKeySecret.prefix.count + 4)) }

    private static func base64URL(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = UInt32(0)
            for (offset, byte) in chunk.enumerated() { value |= UInt32(byte) << (16 - 8 * offset) }
            let characters = chunk.count + 1
            for position in 0..<characters { output.append(alphabet[Int((value >> (18 - 6 * position)) & 63)]) }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
