import Foundation

/// An IPv4 or IPv6 socket address: parsed from a host string to bind, or read from a client's connection.
struct SocketAddress: CustomStringConvertible {
    private enum Storage {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    private let storage: Storage

    /// A numeric host ("127.0.0.1", "0.0.0.0", "::1", "::") or "localhost", with a port.
    init?(host: String, port: UInt16) {
        let host = host == "localhost" ? "127.0.0.1" : host
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            storage = .v4(v4)
            return
        }
        var v6 = sockaddr_in6()
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            storage = .v6(v6)
            return
        }
        return nil
    }

    /// A client's address as MHD reports it.
    init?(_ address: UnsafePointer<sockaddr>) {
        switch Int32(address.pointee.sa_family) {
        case AF_INET: storage = .v4(UnsafeRawPointer(address).load(as: sockaddr_in.self))
        case AF_INET6: storage = .v6(UnsafeRawPointer(address).load(as: sockaddr_in6.self))
        default: return nil
        }
    }

    var isIPv6: Bool {
        if case .v6 = storage { return true }
        return false
    }

    /// 127.0.0.0/8, ::1, or an IPv4-mapped 127.x address.
    var isLoopback: Bool {
        switch storage {
        case .v4(let address):
            return UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127
        case .v6(var address):
            return withUnsafeBytes(of: &address.sin6_addr) { bytes in
                let loopback = bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
                let mapped = bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
                return loopback || mapped
            }
        }
    }

    /// The address as text ("203.0.113.7", "2001:db8::1"), the way `inet_ntop` writes it: read for every request
    /// (logs, audit), so without a heap buffer.
    var description: String {
        String(unsafeUninitializedCapacity: Int(INET6_ADDRSTRLEN)) { text in
            switch storage {
            case .v4(let address):
                var n = 0
                withUnsafeBytes(of: address.sin_addr.s_addr) { octets in  // network order: the first octet first
                    for (i, octet) in octets.enumerated() {
                        if i > 0 { text[n] = UInt8(ascii: "."); n += 1 }
                        if octet >= 100 { text[n] = 0x30 + octet / 100; n += 1 }
                        if octet >= 10 { text[n] = 0x30 + octet / 10 % 10; n += 1 }
                        text[n] = 0x30 + octet % 10
                        n += 1
                    }
                }
                return n
            case .v6(var address):
                return text.withMemoryRebound(to: CChar.self) { buffer in
                    _ = inet_ntop(AF_INET6, &address.sin6_addr, buffer.baseAddress, socklen_t(buffer.count))
                    return buffer.firstIndex(of: 0) ?? 0
                }
            }
        }
    }

    /// Calls `body` with the address as a `sockaddr` pointer (valid during the call).
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        switch storage {
        case .v4(var address):
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        case .v6(var address):
            return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
    }
}
