import CMicroHTTPD
import Foundation
import Synchronization

/// What the daemon knows about one request while libmicrohttpd calls back about it: created when the request
/// line arrives, filled when the head is complete, released when the request is finished.
final class RequestState: @unchecked Sendable {
    /// The request target as it arrived (with its query), for the request log until the head is in.
    let target: String
    var method = "-"
    var path: String
    var headers: [String: String] = [:]
    var query: [(name: String, value: String)] = []
    var body: [UInt8] = []
    /// Whether the handler was called with the complete head yet.
    var headSeen = false
    /// Body bytes received (kept or discarded).
    var received = 0
    /// The body is over the limit: it is read and thrown away, and the answer is 413.
    var discarding = false
    var clientAddress = "?"
    var isFromLoopback = false
    var queryIsValidUTF8 = true
    let started = DispatchTime.now().uptimeNanoseconds
    /// Set when the answer was given before the body was read (a refused head, 413): later calls only drain.
    var rejected = false
    /// The answer, set once by whoever answers.
    var response: HTTPResponse?
    /// receiving → handling → (suspended →) answered.
    let phase = Atomic<Int>(RequestState.receiving)
    static let receiving = 0, handling = 1, suspended = 2, answered = 3
    var status: Int?
    /// What the handler returned for the request (`HTTPHandler.handle`).
    var tag = -1

    init(target: String) {
        self.target = target
        path = target
    }

    /// Reads the headers (lower-cased names, repeats joined with ", ") and the client's address.
    func readHeaders(_ connection: OpaquePointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        MHD_get_connection_values(connection, .HEADER_KIND, { context, _, key, value in
            guard let context, let key else { return .YES }
            let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
            let name = RequestState.lowercasedName(key)
            let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: strlen($0)), as: UTF8.self) } ?? ""
            state.headers[name] = state.headers[name].map { $0 + ", " + text } ?? text
            return .YES
        }, me)
        if let address = uiq_mhd_client_address(connection) {
            let client = SocketAddress(address)
            clientAddress = client?.description ?? "?"
            isFromLoopback = client?.isLoopback ?? false
        }
    }

    /// The request as handlers see it, with the query parameters read now.
    func request(_ connection: OpaquePointer) -> HTTPRequest {
        let me = Unmanaged.passUnretained(self).toOpaque()
        query = []
        // With their lengths: a `%00` in a value is a NUL inside it, which validators refuse, not its end
        // (`user_id=5%00x` must not read as 5).
        MHD_get_connection_values_n(connection, .GET_ARGUMENT_KIND, { context, _, key, keySize, value, valueSize in
            guard let context, let key else { return .YES }
            let state = Unmanaged<RequestState>.fromOpaque(context).takeUnretainedValue()
            guard let name = RequestState.validText(key, count: keySize),
                  let text = value.map({ RequestState.validText($0, count: valueSize) }) ?? "" else {
                state.queryIsValidUTF8 = false
                return .YES
            }
            state.query.append((name, text))
            return .YES
        }, me)
        var request = HTTPRequest(method: method, path: path, query: query, headers: headers, body: body,
                                  isFromLoopback: isFromLoopback, clientAddress: clientAddress)
        request.queryIsValidUTF8 = queryIsValidUTF8
        return request
    }

    /// A header's name, ASCII letters lower-cased (names are tokens: ASCII; a name with other bytes is kept as it
    /// is, decoded as UTF-8, with U+FFFD for what is not).
    static func lowercasedName(_ key: UnsafePointer<CChar>) -> String {
        let count = strlen(key)
        return key.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
            let name = UnsafeBufferPointer(start: bytes, count: count)
            guard name.allSatisfy({ $0 < 0x80 }) else {
                return String(decoding: name, as: UTF8.self)
            }
            return String(unsafeUninitializedCapacity: count) { lowered in
                for (i, byte) in name.enumerated() {
                    lowered[i] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                }
                return count
            }
        }
    }

    /// C text as Swift text, or nil when it is not UTF-8.
    static func validText(_ pointer: UnsafePointer<CChar>) -> String? { validText(pointer, count: strlen(pointer)) }

    /// `count` bytes of text (NULs included) as Swift text, or nil when they are not UTF-8.
    static func validText(_ pointer: UnsafePointer<CChar>, count: Int) -> String? {
        String(validating: UnsafeRawBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}
