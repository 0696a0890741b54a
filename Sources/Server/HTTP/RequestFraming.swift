import Support

/// The checks RFC 9112 asks of a server before it reads a request's body, on the request line and headers
/// libmicrohttpd has parsed: how the body is framed (a request whose length is ambiguous is refused and its
/// connection closed, so no second request can be smuggled in its bytes), the Host header, and the form of the
/// request target (absolute-form is served like origin-form).
enum RequestFraming {
    /// What to do with a request head.
    enum Verdict: Equatable {
        /// Serve it: the path to route (from an absolute-form target, its path part) and the declared body length.
        case accept(path: String, contentLength: Int?)
        /// Answer `status` with `message` at once; the connection is closed after the answer.
        case refuse(status: Int, message: String)
    }

    /// Checks the request line (`method`, `target` as libmicrohttpd decoded it, `version`) and `headers` (lower-cased
    /// names, repeated headers joined with ", ").
    static func check(method: String, target: String, version: String, headers: [String: String]) -> Verdict {
        let transferEncoding = headers["transfer-encoding"]
        let contentLength = headers["content-length"]
        if transferEncoding != nil && contentLength != nil {
            return .refuse(status: 400, message: "a request must not have both Content-Length and Transfer-Encoding")
        }
        if let transferEncoding, transferEncoding.trimmingWhitespace().lowercased() != "chunked" {
            return .refuse(status: 501, message: "Transfer-Encoding \(transferEncoding) is not supported (only chunked)")
        }
        var length: Int?
        if let contentLength {
            let values = contentLength.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingWhitespace() }
            guard values.allSatisfy(isPlainLength), let first = values.first, values.allSatisfy({ $0 == first }) else {
                return .refuse(status: 400, message: "Content-Length must be one non-negative integer, got \(contentLength)")
            }
            length = Int(first) ?? Int.max
        }

        var path = target
        var hasAuthority = false
        if let absolute = pathOfAbsoluteForm(target) {
            path = absolute
            hasAuthority = true
        } else if !(target.hasPrefix("/") || (method == "OPTIONS" && target == "*")) {
            return .refuse(status: 400, message: "the request target must be a path such as /api/health or an absolute http:// URL")
        }
        if let host = headers["host"] {
            guard isValidHost(host) else {
                return .refuse(status: 400, message: "the Host header must be one host name or address, optionally with a port")
            }
        } else if version == "HTTP/1.1" && !hasAuthority {
            return .refuse(status: 400, message: "an HTTP/1.1 request needs a Host header")
        }
        return .accept(path: path, contentLength: length)
    }

    /// `1*DIGIT`, nothing else (no sign, no spaces, no hex).
    private static func isPlainLength<Text: StringProtocol>(_ text: Text) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// The path of `http://host[:port]/path` (or `https://…`): `/path`, `/` when there is none; nil for any other form.
    static func pathOfAbsoluteForm(_ target: String) -> String? {
        if target.utf8.first == UInt8(ascii: "/") { return nil }  // origin-form, nearly every request
        let lowered = target.prefix(8).lowercased()
        let scheme = lowered.hasPrefix("http://") ? 7 : lowered.hasPrefix("https://") ? 8 : 0
        guard scheme > 0 else { return nil }
        let afterScheme = target.dropFirst(scheme)
        guard let slash = afterScheme.firstIndex(of: "/") else { return afterScheme.isEmpty ? nil : "/" }
        guard slash > afterScheme.startIndex else { return nil }  // no authority
        return String(afterScheme[slash...])
    }

    /// A single `host[:port]`: a registered name or IPv4 address of URI characters, or a bracketed IPv6 address,
    /// then an optional numeric port. (Two Host headers arrive joined by a comma, which is not allowed here.)
    /// `isValidHost` for an ASCII value: the same rules over the bytes.
    private static func isValidASCIIHost(_ all: UnsafeBufferPointer<UInt8>) -> Bool {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }
        var start = 0, end = all.count
        while start < end, isSpace(all[start]) { start += 1 }
        while end > start, isSpace(all[end - 1]) { end -= 1 }
        guard start < end, end - start <= 1024 else { return false }
        let host = UnsafeBufferPointer(rebasing: all[start..<end])
        var nameEnd = host.count
        var portStart: Int?
        if host[0] == UInt8(ascii: "[") {
            guard let close = host.firstIndex(of: UInt8(ascii: "]")), close > 1,
                  host[1..<close].allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else { return false }
            if close + 1 < host.count {
                guard host[close + 1] == UInt8(ascii: ":") else { return false }
                portStart = close + 2
            }
            nameEnd = 0
        } else if let colon = host.lastIndex(of: UInt8(ascii: ":")) {
            guard colon > 0 else { return false }
            portStart = colon + 1
            nameEnd = colon
        }
        if let portStart {
            let port = host[portStart...]
            guard port.isEmpty || (port.count <= 5 && port.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }) else { return false }
        }
        return host[0..<nameEnd].allSatisfy(isRegisteredNameByte)
    }

    static func isValidHost(_ value: String) -> Bool {
        // The usual case, an ASCII value, byte by byte; anything else the general way below.
        if let verdict = value.utf8.withContiguousStorageIfAvailable({ bytes in bytes.allSatisfy { $0 < 0x80 } ? isValidASCIIHost(bytes) : nil }),
           let verdict {
            return verdict
        }
        let host = value.trimmingWhitespace()
        guard !host.isEmpty, host.utf8.count <= 1024 else { return false }
        var name = Substring(host)
        var port: Substring?
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { return false }
            let literal = name[name.index(after: name.startIndex)..<close]
            guard !literal.isEmpty, literal.utf8.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
            else { return false }
            let rest = name[name.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return false }
                port = rest.dropFirst()
            }
            name = ""
        } else if let colon = name.lastIndex(of: ":") {
            port = name[name.index(after: colon)...]
            name = name[..<colon]
            guard !name.isEmpty else { return false }
        }
        if let port, !(port.isEmpty || (port.utf8.count <= 5 && port.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 })) {
            return false
        }
        return name.utf8.allSatisfy(isRegisteredNameByte)
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    /// unreserved / pct-encoded / sub-delims, except "," (the separator of repeated headers).
    private static func isRegisteredNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"), UInt8(ascii: "!"),
             UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"),
             UInt8(ascii: "+"), UInt8(ascii: ";"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}
