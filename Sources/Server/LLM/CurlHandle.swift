import CCurl
import Foundation

/// What came back from one HTTP exchange: the status, the body, and the headers that matter for retrying.
struct CurlResponse: Sendable {
    var status: Int
    var body: [UInt8]
    /// `Retry-After` (seconds or an HTTP date) and OpenAI's `retry-after-ms`, when present.
    var retryAfter: String?
    var retryAfterMilliseconds: String?
}

/// Why an exchange produced no HTTP answer.
struct CurlFailure: Error, Sendable {
    enum Kind: Sendable {
        /// The deadline passed (CURLE_OPERATION_TIMEDOUT).
        case timeout
        /// Could not resolve, connect, send or receive; the connection was dropped: worth retrying.
        case connection
        /// The server's certificate did not verify.
        case tls
        /// The answer was larger than `CurlHandle.maximumResponseBytes`.
        case tooLarge
        /// Anything else libcurl reports.
        case other
    }

    var kind: Kind
    /// libcurl's description of the error code (never includes request headers, so never the key).
    var message: String
}

/// One libcurl easy handle, reused from request to request so its connection stays open (keep-alive): the
/// only place the LLM transport touches libcurl. Used by one thread at a time (the pool hands it from one
/// call to the next), hence `@unchecked Sendable`.
final class CurlHandle: @unchecked Sendable {
    /// The libcurl library's version (`7.88.1`).
    static var libraryVersion: String {
        curl_version().map { String(cString: $0) }.flatMap { $0.split(separator: " ").first?.split(separator: "/").last.map(String.init) } ?? "unknown"
    }

    /// Answers larger than this are refused (a chat completion with a few tokens is a few hundred bytes).
    static let maximumResponseBytes = 1 << 20

    private let handle: UnsafeMutableRawPointer
    private let sink = ResponseSink()

    /// A new handle, or nil when libcurl cannot make one (out of memory).
    init?() {
        CurlRuntime.initialize()
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
    }

    deinit { curl_easy_cleanup(handle) }

    /// POSTs `body` to `url` with `headers`; the whole exchange may take `timeoutMilliseconds`.
    func post(url: String, headers: [String], body: [UInt8], timeoutMilliseconds: Int,
              connectTimeoutMilliseconds: Int) -> Result<CurlResponse, CurlFailure> {
        curl_easy_reset(handle)  // clears the options; keeps the open connection and the DNS cache
        sink.reset()
        var list: UnsafeMutablePointer<curl_slist>?
        for header in headers + ["Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }

        _ = uiq_curl_setopt_string(handle, CURLOPT_URL, url)
        _ = uiq_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = uiq_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = uiq_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
        _ = uiq_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1)
        _ = uiq_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        _ = uiq_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1)
        _ = uiq_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, timeoutMilliseconds))
        _ = uiq_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, min(connectTimeoutMilliseconds, timeoutMilliseconds)))
        _ = uiq_curl_setopt_string(handle, CURLOPT_USERAGENT, "urgencyiq")
        _ = uiq_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, list)
        _ = uiq_curl_setopt_long(handle, CURLOPT_POST, 1)
        _ = uiq_curl_setopt_size(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        _ = body.withUnsafeBytes { bytes in
            uiq_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
        }
        let context = Unmanaged.passUnretained(sink).toOpaque()
        _ = uiq_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, CurlHandle.receiveBody)
        _ = uiq_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
        _ = uiq_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, CurlHandle.receiveHeader)
        _ = uiq_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context)

        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else { return .failure(CurlHandle.failure(code, tooLarge: sink.overflowed)) }
        var status = 0
        _ = uiq_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(CurlResponse(status: status, body: sink.body, retryAfter: sink.retryAfter,
                                     retryAfterMilliseconds: sink.retryAfterMilliseconds))
    }

    private static func failure(_ code: CURLcode, tooLarge: Bool) -> CurlFailure {
        let message = String(cString: curl_easy_strerror(code))
        if tooLarge { return CurlFailure(kind: .tooLarge, message: message) }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return CurlFailure(kind: .timeout, message: message)
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_GOT_NOTHING,
             CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_SSL_CONNECT_ERROR, CURLE_HTTP2,
             CURLE_HTTP2_STREAM:
            return CurlFailure(kind: .connection, message: message)
        case CURLE_PEER_FAILED_VERIFICATION:
            return CurlFailure(kind: .tls, message: message)
        default:
            return CurlFailure(kind: .other, message: message)
        }
    }

    private static let receiveBody: uiq_curl_data_callback = { data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard sink.body.count + length <= CurlHandle.maximumResponseBytes else {
            sink.overflowed = true
            return 0  // aborts the transfer (CURLE_WRITE_ERROR)
        }
        if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length)) }
        return length
    }

    private static let receiveHeader: uiq_curl_data_callback = { data, size, count, context in
        let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        guard let data, length < 8192 else { return length }
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            sink.retryAfter = nil  // a new response (after an interim one): its own headers count
            sink.retryAfterMilliseconds = nil
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            if name == "retry-after" { sink.retryAfter = value }
            if name == "retry-after-ms" { sink.retryAfterMilliseconds = value }
        }
        return length
    }
}

/// Collects one response for the callbacks.
private final class ResponseSink {
    var body: [UInt8] = []
    var overflowed = false
    var retryAfter: String?
    var retryAfterMilliseconds: String?

    func reset() {
        body.removeAll(keepingCapacity: true)
        overflowed = false
        retryAfter = nil
        retryAfterMilliseconds = nil
    }
}

/// `curl_global_init`, once per process, before the first handle.
enum CurlRuntime {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    static func initialize() { _ = initialized }
}
