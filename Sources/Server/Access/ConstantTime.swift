/// Comparisons whose duration does not depend on where the inputs differ, for secrets (tokens, key hashes).
enum ConstantTime {
    /// Whether `a` and `b` are equal, looking at every byte of the longer.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
