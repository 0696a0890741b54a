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
            guard let member = members.first(where: { compare(bytes, $0, key) == 0 }) else { return nil }
            return try? JSONParser.parse(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(member.keyEnd + 1)..<member.end])))
        }
    }

    /// The object with `other` members merged in by key order; where a key is in both, `other`'s member is kept.
    /// `other` must be in key order (as Swift orders strings).
    public func merging(_ other: [(key: String, value: JSONValue)]) -> JSONObjectText {
        let added = Added(other)
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
    public func text(merging other: [(key: String, value: JSONValue)]) -> String {
        let added = Added(other)
        return String(unsafeUninitializedCapacity: bytes.count + added.bytes.count + other.count) { text in
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

    /// Members to merge in, written: `"key":value` of each, back to back.
    private struct Added {
        var bytes: [UInt8] = []
        var keys: [String] = []
        /// Where each one's key ends and where it ends.
        var keyEnds: [Int] = [], ends: [Int] = []

        init(_ members: [(key: String, value: JSONValue)]) {
            bytes.reserveCapacity(32 * members.count)
            for (key, value) in members {
                JSONValue.encode(string: key, into: &bytes)
                keyEnds.append(bytes.count)
                bytes.append(UInt8(ascii: ":"))
                value.encode(into: &bytes)
                ends.append(bytes.count)
                keys.append(key)
            }
        }
    }

    /// Hands each member of the merge to `visit`, in key order: the buffer holding its text (`"key":value`), where
    /// in it, and its key literal's length.
    private func forEachMerged(_ added: Added, _ visit: (UnsafeBufferPointer<UInt8>, Range<Int>, Int) -> Void) {
        bytes.withUnsafeBufferPointer { bytes in
            added.bytes.withUnsafeBufferPointer { addedBytes in
                var i = 0, j = 0
                while i < members.count || j < added.keys.count {
                    let order = i == members.count ? 1 : j == added.keys.count ? -1 : compare(bytes, members[i], added.keys[j])
                    if order < 0 {
                        visit(bytes, members[i].start..<members[i].end, members[i].keyEnd - members[i].start)
                        i += 1
                    } else {
                        if order == 0 { i += 1 }
                        let start = j == 0 ? 0 : added.ends[j - 1]
                        visit(addedBytes, start..<added.ends[j], added.keyEnds[j] - start)
                        j += 1
                    }
                }
            }
        }
    }

    /// How a member's key orders against `key`, as Swift orders strings: byte by byte when the literal is plain
    /// ASCII with nothing escaped (the same order), as strings otherwise (Swift compares canonical forms: a KELVIN
    /// SIGN key sorts as K).
    private func compare(_ bytes: UnsafeBufferPointer<UInt8>, _ member: Member, _ key: String) -> Int {
        let literal = UnsafeBufferPointer(rebasing: bytes[(member.start + 1)..<(member.keyEnd - 1)])
        guard !literal.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "\\") }) else {
            let text = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[member.start..<member.keyEnd]))
            let name = (try? JSONParser.parse(text))?.stringValue ?? ""
            return name < key ? -1 : name == key ? 0 : 1
        }
        var position = 0
        for byte in key.utf8 {
            guard position < literal.count else { return -1 }
            if literal[position] != byte { return Int(literal[position]) - Int(byte) }
            position += 1
        }
        return position < literal.count ? 1 : 0
    }
}
