/// CSV records kept as the file's bytes, for a tool that writes each record back as it read it plus one value
/// (`score --csv`): no string per field, and the output differs from the input only where it means to.
public struct CSVRawBatch: Sendable {
    /// One record: where its bytes are, how many fields it has, its selected value and the column to replace.
    public struct Record: Sendable {
        /// The line it starts on (1-based, counting physical lines).
        public var line: Int
        /// Its bytes in `bytes`, as in the file, without the line end.
        public var raw: Range<Int>
        public var fieldCount: Int
        /// The selected column's value in `values`, unquoted (empty when the record is short of that column).
        public var value: Range<Int>
        /// The replaced column's bytes in `bytes`, quotes included; nil when the record is short of that column.
        public var replaced: Range<Int>?
    }

    /// Every record's raw bytes, back to back.
    public var bytes: [UInt8] = []
    /// Every record's selected value (valid UTF-8), back to back.
    public var values: [UInt8] = []
    public var records: [Record] = []

    public init() {}

    public var isEmpty: Bool { records.isEmpty }
}
