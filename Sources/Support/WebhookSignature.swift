import Foundation

/// Signs webhook deliveries as the Standard Webhooks specification says (standardwebhooks.com): the secret is
/// `whsec_` and base64 bytes; the signed content is `id.timestamp.body`; the header is `v1,` and the base64
/// HMAC-SHA256 of it.
public struct WebhookSignature: Sendable {
    /// Why a secret is not one.
    public struct InvalidSecret: Error, CustomStringConvertible {
        public var description: String
    }

    private let key: [UInt8]

    /// `whsec_` followed by base64 (at least 24 bytes decoded, as the specification recommends).
    public init(secret: String) throws(InvalidSecret) {
        guard secret.hasPrefix("whsec_") else { throw InvalidSecret(description: "a webhook secret starts with whsec_") }
        guard let decoded = Data(base64Encoded: String(secret.dropFirst(6))) else {
            throw InvalidSecret(description: "a webhook secret is whsec_ followed by base64")
        }
        guard decoded.count >= 24 else { throw InvalidSecret(description: "a webhook secret needs at least 24 bytes (32 recommended)") }
        key = [UInt8](decoded)
    }

    /// The `webhook-signature` header's value for this delivery.
    public func sign(id: String, timestamp: Int64, body: [UInt8]) -> String {
        let content = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + Data(HMACSHA256.authenticationCode(key: key, message: content)).base64EncodedString()
    }
}
