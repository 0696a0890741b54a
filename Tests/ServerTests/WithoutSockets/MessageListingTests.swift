import Support
import XCTest
@testable import Server

/// The query parameters of `GET /api/messages` and its cursors, without a server: validation that names the
/// parameter, cursors that round-trip and belong to one sort order, the next page's link.
final class MessageListingTests: XCTestCase {
    private func request(_ query: [(String, String)]) -> HTTPRequest {
        HTTPRequest(method: "GET", path: "/api/messages", query: query.map { (name: $0.0, value: $0.1) })
    }

    private func refusal(_ query: [(String, String)]) -> String? {
        do {
            _ = try MessageListing.query(from: request(query))
            return nil
        } catch {
            return error.message
        }
    }

    func testDefaultsAndValues() throws {
        let plain = try MessageListing.query(from: request([]))
        XCTAssertEqual(plain.limit, MessageListing.defaultLimit)
        XCTAssertNil(plain.after)
        let query = try MessageListing.query(from: request([("status", "resolved"), ("sort", "time"), ("user_id", "7"),
                                                            ("search", "loan"), ("since_id", "0"), ("limit", "1000")]))
        XCTAssertEqual(query.status, .resolved)
        XCTAssertEqual(query.sort, .time)
        XCTAssertEqual(query.customerID, 7)
        XCTAssertEqual(query.search, "loan")
        XCTAssertEqual(query.sinceID, 0)
        XCTAssertEqual(query.limit, 1000)
    }

    func testBadValuesNameTheParameter() {
        XCTAssertEqual(refusal([("status", "closed")]), "status must be open, resolved or all")
        XCTAssertEqual(refusal([("sort", "name")]), "sort must be urgency, time or due")
        XCTAssertEqual(refusal([("user_id", "0")]), "user_id must be a positive integer")
        XCTAssertEqual(refusal([("since_id", "-1")]), "since_id must be a non-negative integer")
        XCTAssertEqual(refusal([("limit", "1001")]), "limit must be an integer from 1 to 1000")
        XCTAssertEqual(refusal([("limit", "01")]), "limit must be an integer from 1 to 1000")
        XCTAssertEqual(refusal([("search", String(repeating: "x", count: 501))]), "search is too long (at most 500 characters)")
        XCTAssertEqual(refusal([("cursor", "garbage")]), "cursor is not valid for this listing (take it from the Link header)")
    }

    func testCursorsRoundTripAndBelongToTheirSortOrder() throws {
        let cursor = PageCursor(sort: .urgency, urgency: 4.03, createdAt: Timestamp(microseconds: 1_700_000_000_123_456), id: 99)
        let decoded = try XCTUnwrap(PageCursor(token: cursor.token))
        XCTAssertEqual(decoded.token, cursor.token)
        let query = try MessageListing.query(from: request([("cursor", cursor.token)]))
        XCTAssertEqual(query.after?.token, cursor.token)
        XCTAssertEqual(refusal([("sort", "time"), ("cursor", cursor.token)]),
                       "cursor is not valid for this listing (take it from the Link header)")
        XCTAssertNil(try MessageListing.query(from: request([("cursor", "")])).after, "an empty cursor is the first page")
    }

    func testTheNextLinkKeepsTheOtherParameters() {
        let cursor = PageCursor(sort: .time, urgency: 2, createdAt: Timestamp(microseconds: 5), id: 3)
        var response = HTTPResponse.json(.array([]))
        response.addNextPageLink(for: request([("search", "a b&c"), ("cursor", "old"), ("sort", "time")]), parameter: "cursor", value: cursor.token)
        XCTAssertEqual(response.header("link"), "</api/messages?search=a%20b%26c&sort=time&cursor=" + FormDecoder.encode(cursor.token) + ">; rel=\"next\"")
    }
}
