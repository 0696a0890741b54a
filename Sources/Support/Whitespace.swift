extension String {
    /// The text without leading and trailing whitespace (Unicode White_Space, as `trimmingCharacters(in:
    /// .whitespacesAndNewlines)`), without going through Foundation: it runs on every imported row and request.
    public func trimmingWhitespace() -> String {
        guard let first = unicodeScalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = unicodeScalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == unicodeScalars.startIndex && last == unicodeScalars.index(before: unicodeScalars.endIndex) { return self }
        return String(unicodeScalars[first...last])
    }
}
