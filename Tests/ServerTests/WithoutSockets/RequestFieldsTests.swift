import Support
import XCTest
@testable import Server

/// Request bodies as the handlers read them (no sockets): JSON and forms, and the validators that answer 400
/// naming the field.
final class RequestFieldsTests: XCTestCase {
    private func fields(json: String) throws -> RequestFields {
        try RequestFields(HTTPRequest(method: "POST", path: "/", headers: ["content-type": "application/json"], body: Array(json.utf8)))
    }

    private func fields(form: String) throws -> RequestFields {
        try RequestFields(HTTPRequest(method: "POST", path: "/", headers: ["content-type": "application/x-www-form-urlencoded; charset=utf-8"],
                                      body: Array(form.utf8)))
    }

    private func refusal(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch let error as HTTPError {
            return "\(error.status) \(error.message)"
        } catch {
            return "unexpected \(error)"
        }
    }

    func testFormDecoding() {
        XCTAssertEqual(FormDecoder.decode(Array("a=1&b=two+words&c=%C3%A9%21&d=&e".utf8))?.map { "\($0.name)=\($0.value)" },
                       ["a=1", "b=two words", "c=é!", "d=", "e="])
        XCTAssertNil(FormDecoder.decode(Array("a=%ZZ".utf8)), "broken percent-encoding")
        XCTAssertNil(FormDecoder.decode(Array("a=%FF".utf8)), "not UTF-8")
        XCTAssertEqual(FormDecoder.encode("a b/é&"), "a%20b%2F%C3%A9%26")
    }

    func testPositiveIDs() throws {
        XCTAssertEqual(try fields(json: #"{"user_id": 42}"#).positiveID("user_id"), 42)
        XCTAssertEqual(try fields(json: #"{"user_id": "42"}"#).positiveID("user_id"), 42)
        XCTAssertEqual(try fields(json: #"{"user_id": 42.0}"#).positiveID("user_id"), 42)
        XCTAssertEqual(try fields(form: "user_id=9223372036854775807").positiveID("user_id"), Int64.max)
        XCTAssertEqual(try fields(form: "user_id=42.0").positiveID("user_id"), 42, "a form's text for the number 42.0")
        XCTAssertEqual(try fields(form: "user_id=7.000").positiveID("user_id"), 7)
        for bad in ["42.5", "42.", ".0", "042.0", "4 2.0", "-1.0", "0.0"] {
            XCTAssertEqual(refusal { try self.fields(form: "user_id=" + bad).positiveID("user_id") },
                           "400 user_id must be a positive integer that fits in 64 bits", bad)
        }
        for bad in [#"{"user_id": 0}"#, #"{"user_id": -3}"#, #"{"user_id": 1.5}"#, #"{"user_id": "042"}"#, #"{"user_id": " 4"}"#,
                    #"{"user_id": "9223372036854775808"}"#, #"{"user_id": true}"#, #"{"user_id": [1]}"#,
                    #"{"user_id": "42.0"}"#] {
            XCTAssertEqual(refusal { try self.fields(json: bad).positiveID("user_id") },
                           "400 user_id must be a positive integer that fits in 64 bits", bad)
        }
        XCTAssertEqual(refusal { try self.fields(json: #"{"user_id": null}"#).positiveID("user_id") }, "400 user_id is required")
        XCTAssertNil(try fields(json: "{}").optionalPositiveID("user_id"))
        XCTAssertEqual(refusal { try self.fields(json: #"{"user_id": null}"#).optionalPositiveID("user_id") },
                       "400 user_id must be a positive integer that fits in 64 bits (or left out)")
    }

    func testText() throws {
        XCTAssertEqual(try fields(json: #"{"message": "  hello\n"}"#).text("message", maximumLength: 10), "hello")
        XCTAssertEqual(try fields(json: #"{"message": "\u00a0ok\u3000"}"#).text("message", maximumLength: 10), "ok")
        XCTAssertEqual(refusal { try self.fields(json: #"{"message": "  \t "}"#).text("message", maximumLength: 10) },
                       "400 message must not be empty")
        XCTAssertEqual(refusal { try self.fields(json: #"{"message": "a\u0000b"}"#).text("message", maximumLength: 10) },
                       "400 message must not contain NUL")
        XCTAssertEqual(refusal { try self.fields(json: #"{"message": "éééééééééééé"}"#).text("message", maximumLength: 10) },
                       "400 message is too long: 12 characters, at most 10")
        XCTAssertEqual(refusal { try self.fields(json: #"{"message": 5}"#).text("message", maximumLength: 10) },
                       "400 message must be a string")
        XCTAssertEqual(refusal { try self.fields(json: #"{"agent_name": "Ann\nBob"}"#).name("agent_name", maximumLength: 10) },
                       "400 agent_name must be one line without control characters")
    }

    func testBooleans() throws {
        XCTAssertEqual(try fields(json: #"{"use_llm": true}"#).boolean("use_llm"), true)
        XCTAssertEqual(try fields(form: "use_llm=false").boolean("use_llm"), false)
        XCTAssertEqual(refusal { try self.fields(json: #"{"use_llm": "true"}"#).boolean("use_llm") }, "400 use_llm must be true or false")
        XCTAssertEqual(refusal { try self.fields(json: "{}").boolean("use_llm") }, "400 use_llm is required")
    }

    func testBodiesThatAreNotFields() {
        XCTAssertEqual(refusal { try self.fields(json: "[1, 2]") }, "400 the JSON body must be an object")
        XCTAssertNotNil(refusal { try self.fields(json: #"{"a": "#) }?.hasPrefix("400 malformed JSON body"))
        XCTAssertEqual(refusal { try self.fields(form: "a=%G0") }, "400 the form body is not valid URL encoding of UTF-8 text")
        XCTAssertEqual(refusal {
            try RequestFields(HTTPRequest(method: "POST", path: "/", headers: ["content-type": "text/plain"], body: Array("hi".utf8)))
        }, "415 Content-Type must be application/json or application/x-www-form-urlencoded, got text/plain")
        XCTAssertNil(refusal { try RequestFields(HTTPRequest(method: "POST", path: "/", body: Array(" \r\n".utf8))) }, "a blank body is no fields")
    }

    func testTheMediaTypeIsReadWithoutParametersSpacesOrCase() {
        XCTAssertEqual(RequestFields.mediaType(" \tApplication/JSON ; charset=utf-8"), "application/json")
        XCTAssertEqual(RequestFields.mediaType("application/x-www-form-urlencoded"), "application/x-www-form-urlencoded")
        XCTAssertEqual(RequestFields.mediaType("TEXT/Json;"), "text/json")
        XCTAssertEqual(RequestFields.mediaType(" ; charset=utf-8"), "")
        XCTAssertEqual(RequestFields.mediaType(""), "")
        XCTAssertEqual(RequestFields.mediaType("application/ÄJSON"), "application/Äjson")  // only ASCII folds
    }
}
