/// A JSON object kept as its text, keys in order (as `JSONValue` writes them), with where each member lies: what
/// a rule's breakdown is between the rule VM and the store, so that it is encoded once and never held as a tree
/// of values. Other members (the host's) can be merged in while it is written out.
public struct JSONObjectText: Sendable, Equatable {
    /// Where one member lies in `bytes`: its key's literal starts at `start` and ends at `keyEnd` (the `:`), its
    /// value ends at `end`.
    public struct Member: Sendable, Equatable {
        public var start: Int
        public var keyEnd: Int
        public var end: Int

        public init(start: Int, keyEnd: Int, end: Int) {
            self.start = start
            self.keyEnd = keyEnd
            self.end = end
        }
    }

    /// The object's compact JSON text, `{` to `}`.
    public let bytes: [UInt8]
    /// Its members, in key order, each key once.
    public let members: [Member]

    /// An object given as its text and members (which the caller guarantees are in key order, keys unique).
    public init(bytes: [UInt8], members: [Member]) {
        self.bytes = bytes
        self.members = members
    }

    /// An empty object, or one of the given members (JSON literals: key, value) in the order given.
    public init(members: [(key: String, value: JSONValue)]) {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        var spans: [Member] = []
        for (n, member) in members.enumerated() {
            if n > 0 { bytes.append(UInt8(ascii: ",")) }
            let start = bytes.count
            JSONValue.encode(string: member.key, into: &bytes)
            let keyEnd = bytes.count
            bytes.append(UInt8(ascii: ":"))
            member.value.encode(into: &bytes)
            spans.append(Member(start: start, keyEnd: keyEnd, end: bytes.count))
        }
        bytes.append(UInt8(ascii: "}"))
        self.init(bytes: bytes, members: spans)
    }

    /// An object of one member, `key`, whose value is `valueText` (compact JSON).
    public init(key: String, valueText: UnsafeRawBufferPointer) {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(valueText.count + key.utf8.count + 5)
        JSONValue.encode(string: key, into: &bytes)
        let keyEnd = bytes.count
        bytes.append(UInt8(ascii: ":"))
        bytes.append(contentsOf: valueText)
        bytes.append(UInt8(ascii: "}"))
        self.init(bytes: bytes, members: [Member(start: 1, keyEnd: keyEnd, end: bytes.count - 1)])
    }

    /// The members as values (parsed from the text).
    public var values: [String: JSONValue] {
        guard case .object(let object)? = try? JSONParser.parse(bytes) else { return [:] }
        return object
    }

    /// The value of the member `key`, if there is one (parsed from the text).
    public func value(of key: String) -> JSONValue? {
        bytes.withUnsafeBufferPointer { bytes in
            var literal: [UInt8] = []
            JSONValue.encode(string: key, into: &literal)
            let member = literal.withUnsafeBufferPointer { literal in
                members.first { compare(UnsafeBufferPointer(rebasing: bytes[$0.start..<$0.keyEnd]), literal) == 0 }
            }
            guard let member else { return nil }
            return try? JSONParser.parse(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(member.keyEnd + 1)..<member.end])))
        }
    }

    /// The object with `other` members merged in by key order; where a key is in both, `other`'s member is kept.
    /// `other` must be in key order (as Swift orders strings).
    public func merging(_ other: [(key: String, value: JSONValue)]) -> JSONObjectText {
        let added = Additions(other)
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(bytes.count + added.bytes.count + other.count)
        var spans: [Member] = []
        spans.reserveCapacity(members.count + other.count)
        forEachMerged(added) { source, range, keyLength in
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            let start = out.count
            out.append(contentsOf: UnsafeBufferPointer(rebasing: source[range]))
            spans.append(Member(start: start, keyEnd: start + keyLength, end: out.count))
        }
        out.append(UInt8(ascii: "}"))
        return JSONObjectText(bytes: out, members: spans)
    }

    /// The object's text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// `merging(other).text`, written straight into the string.
    public func text(merging other: [(key: String, value: JSONValue)]) -> String { text(merging: Additions(other)) }

    /// The text of the object with `added` merged in by key order (its members win on a clash), written straight
    /// into the string.
    public func text(merging added: Additions) -> String {
        String(unsafeUninitializedCapacity: bytes.count + added.bytes.count + added.spans.count) { text in
            text[0] = UInt8(ascii: "{")
            var n = 1
            forEachMerged(added) { source, range, _ in
                if n > 1 {
                    text[n] = UInt8(ascii: ",")
                    n += 1
                }
                _ = UnsafeMutableBufferPointer(rebasing: text[n..<(n + range.count)]).initialize(from: source[range])
                n += range.count
            }
            text[n] = UInt8(ascii: "}")
            return n + 1
        }
    }

    /// Members to merge into an object: `"key":value` of each, written back to back, in key order (as Swift orders
    /// strings).
    public struct Additions: Sendable {
        fileprivate var bytes: [UInt8] = []
        /// Where each one's key literal ends and where it ends.
        fileprivate var spans: [(keyEnd: Int, end: Int)] = []

        /// Room for `count` members of about `bytes` bytes in all.
        public init(count: Int, bytes: Int) {
            self.bytes.reserveCapacity(bytes)
            spans.reserveCapacity(count)
        }

        init(_ members: [(key: String, value: JSONValue)]) {
            self.init(count: members.count, bytes: 32 * members.count)
            for (key, value) in members { add(key, value) }
        }

        public mutating func add(_ key: String, _ value: JSONValue) {
            JSONValue.encode(string: key, into: &bytes)
            addValue(value)
        }

        /// A member whose key is plain ASCII that needs no escaping.
        public mutating func add(_ key: StaticString, _ value: JSONValue) {
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
            bytes.append(UInt8(ascii: "\""))
            addValue(value)
        }

        /// The value after the key literal just written.
        private mutating func addValue(_ value: JSONValue) {
            spans.append((bytes.count, bytes.count))
            bytes.append(UInt8(ascii: ":"))
            value.encode(into: &bytes)
            spans[spans.count - 1].end = bytes.count
        }
    }

    /// Hands each member of the merge to `visit`, in key order: the buffer holding its text (`"key":value`), where
    /// in it, and its key literal's length.
    private func forEachMerged(_ added: Additions, _ visit: (UnsafeBufferPointer<UInt8>, Range<Int>, Int) -> Void) {
        bytes.withUnsafeBufferPointer { bytes in
            added.bytes.withUnsafeBufferPointer { addedBytes in
                var i = 0, j = 0
                while i < members.count || j < added.spans.count {
                    let start = j == 0 ? 0 : added.spans[j - 1].end
                    let order = i == members.count ? 1 : j == added.spans.count ? -1
                        : compare(UnsafeBufferPointer(rebasing: bytes[members[i].start..<members[i].keyEnd]),
                                  UnsafeBufferPointer(rebasing: addedBytes[start..<added.spans[j].keyEnd]))
                    if order < 0 {
                        visit(bytes, members[i].start..<members[i].end, members[i].keyEnd - members[i].start)
                        i += 1
                    } else {
                        if order == 0 { i += 1 }
                        visit(addedBytes, start..<added.spans[j].end, added.spans[j].keyEnd - start)
                        j += 1
                    }
                }
            }
        }
    }

    /// How two key literals order, as Swift orders the strings: byte by byte when both are plain ASCII with nothing
    /// escaped (the same order), as strings otherwise (Swift compares canonical forms: a KELVIN SIGN key sorts as K).
    private func compare(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let a = UnsafeBufferPointer(rebasing: a[1..<(a.count - 1)]), b = UnsafeBufferPointer(rebasing: b[1..<(b.count - 1)])
        func plain(_ literal: UnsafeBufferPointer<UInt8>) -> Bool {
            !literal.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\\") })
        }
        guard plain(a), plain(b) else {
            func name(_ inside: UnsafeBufferPointer<UInt8>) -> String {
                var literal: [UInt8] = [UInt8(ascii: "\"")]
                literal.append(contentsOf: inside)
                literal.append(UInt8(ascii: "\""))
                return (try? JSONParser.parse(literal))?.stringValue ?? ""
            }
            let x = name(a), y = name(b)
            return x < y ? -1 : x == y ? 0 : 1
        }
        for position in 0..<min(a.count, b.count) where a[position] != b[position] {
            return Int(a[position]) - Int(b[position])
        }
        return a.count - b.count
    }
}
