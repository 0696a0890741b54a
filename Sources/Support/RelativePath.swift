/// The parts of a path, split on `/` by hand: Foundation's `NSString.deletingLastPathComponent` traps on a
/// single-component relative path ("lib", "x.db") on Linux (swift-corelibs-foundation), which a deploy of
/// `lib/x.lua` reached (found by `make fuzz-api`).
public enum RelativePath {
    /// The folder holding `path` ("lib/tiers.lua" → "lib", "urgency.lua" → "").
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// Every folder on the way to `path`, innermost first ("a/b/c.lua" → ["a/b", "a"]).
    public static func folders(of path: String) -> [String] {
        var folders: [String] = []
        var folder = parent(of: path)
        while !folder.isEmpty {
            folders.append(folder)
            folder = parent(of: folder)
        }
        return folders
    }

    /// The last component ("lib/tiers.lua" → "tiers.lua").
    public static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
