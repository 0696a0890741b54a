import Support
import XCTest

/// Webhook signatures match the Standard Webhooks specification's own example, and HMAC-SHA256 matches RFC 4231.
final class WebhookSignatureTests: XCTestCase {
    func testTheSpecificationsExample() throws {
        let signature = try WebhookSignature(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        XCTAssertEqual(signature.sign(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8)),
                       "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    func testHMACMatchesRFC4231() {
        // Test case 2: key "Jefe", data "what do ya want for nothing?".
        let code = HMACSHA256.authenticationCode(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        XCTAssertEqual(code.map { String(format: "%02x", $0) }.joined(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Test case 6: a key longer than the block.
        let long = HMACSHA256.authenticationCode(key: [UInt8](repeating: 0xaa, count: 131),
                                                 message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))
        XCTAssertEqual(long.map { String(format: "%02x", $0) }.joined(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testMalformedSecretsAreRefused() {
        XCTAssertThrowsError(try WebhookSignature(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        XCTAssertThrowsError(try WebhookSignature(secret: "whsec_not base64!"))
        XCTAssertThrowsError(try WebhookSignature(secret: "whsec_c2hvcnQ="))
    }
}
