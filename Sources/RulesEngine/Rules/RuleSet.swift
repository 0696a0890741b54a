import Foundation
import Support

/// A version of the rules: the Lua files and keyword lists of one rules directory, read at one moment, identified by a content
/// hash. Every Lua state built for it sees exactly these files (`require` reads from here, never from disk),
/// and shares its compiled keyword automata and regular expressions.
public final class RuleSet: Sendable {
    /// The entry file every rule set must have.
    public static let entryFile = "urgency.lua"
    /// Largest rule file accepted.
    public static let maximumFileBytes = 4 << 20
    /// Keyword lists (`*.keywords`, one keyword per line, for `keywords.list`): data, not code, so they may be
    /// larger. (Other files, such as notes, are not part of the rules.)
    public static let maximumListBytes = 64 << 20
    public static let keywordListSuffix = ".keywords"

    /// The size limit of the file at `path`.
    public static func maximumBytes(of path: String) -> Int {
        path.hasSuffix(keywordListSuffix) ? maximumListBytes : maximumFileBytes
    }
    /// Most files a rule set may have.
    public static let maximumFiles = 1000

    /// Where the files came from (nil for a rule set submitted in memory).
    public let directory: String?
    /// The files by relative path.
    public let files: [String: RuleFile]
    /// Hex SHA-256 over the paths and contents of all files.
    public let hash: String
    /// Short form of the hash: what breakdowns, logs and the API call the rules version.
    public let version: String

    /// Keyword automata and regular expressions compiled for this version, shared by its Lua states.
    let compiled = CompiledMatchers()

    /// A rule set from files in memory (relative path → contents).
    public init(files contents: [String: [UInt8]], directory: String? = nil) throws(RulesError) {
        guard contents.count <= RuleSet.maximumFiles else {
            throw RulesError(kind: .tooLarge, message: "\(contents.count) rule files (at most \(RuleSet.maximumFiles))")
        }
        var files: [String: RuleFile] = [:]
        for (path, bytes) in contents {
            guard RuleSet.isAcceptablePath(path) else {
                throw RulesError(kind: .unreadable, file: path, message: "not a valid rule file path")
            }
            guard bytes.count <= RuleSet.maximumBytes(of: path) else {
                throw RulesError(kind: .tooLarge, file: path,
                                 message: "\(bytes.count) bytes (at most \(RuleSet.maximumBytes(of: path)))")
            }
            files[path] = RuleFile(path: path, contents: bytes)
        }
        guard files[RuleSet.entryFile] != nil else {
            throw RulesError(kind: .missingEntry, file: directory,
                             message: "no \(RuleSet.entryFile): a rules directory needs an urgency.lua defining score(message, ctx)")
        }
        self.files = files
        self.directory = directory
        hash = RuleSet.hash(fileHashes: files.mapValues(\.sha256))
        version = String(hash.prefix(12))
    }

    /// The content hash of files that may not even make a valid rule set: equal to `hash` when they do.
    /// (What the reloader compares, so that it tries the same files only once.)
    public static func contentHash(of contents: [String: [UInt8]]) -> String {
        hash(fileHashes: contents.mapValues { SHA256.hex($0) })
    }

    private static func hash(fileHashes: [String: String]) -> String {
        var hasher = SHA256()
        for path in fileHashes.keys.sorted() {
            hasher.update(Array(path.utf8) + [0] + Array(fileHashes[path]!.utf8) + [10])
        }
        return hasher.finalizeHex()
    }

    /// Reads every `.lua` file under `directory`. Skipped: hidden files and directories (editor swap files),
    /// backups ending in `~`, symbolic links that lead outside the directory, and nested directories that
    /// have an `urgency.lua` of their own (they are rule sets of their own, such as profiles).
    public static func load(from directory: String) throws(RulesError) -> RuleSet {
        try RuleSet(files: try readFiles(from: directory), directory: directory)
    }

    /// The `.lua` files under `directory` by relative path, as `load(from:)` picks them, without checking that
    /// they make a rule set.
    public static func readFiles(from directory: String) throws(RulesError) -> [String: [UInt8]] {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RulesError(kind: .unreadable, file: directory, message: "rules directory not found")
        }
        var contents: [String: [UInt8]] = [:]
        try collect(root, relative: "", root: root, into: &contents)
        return contents
    }

    private static func collect(_ folder: URL, relative: String, root: URL,
                                into contents: inout [String: [UInt8]]) throws(RulesError) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        } catch {
            throw RulesError(kind: .unreadable, file: folder.path, message: "cannot list: \(error.localizedDescription)")
        }
        for name in names where !name.hasPrefix(".") && !name.hasSuffix("~") {
            let url = folder.appendingPathComponent(name)
            let resolved = url.resolvingSymlinksInPath()
            guard resolved.path == root.path || resolved.path.hasPrefix(root.path + "/") else { continue }
            let path = relative.isEmpty ? name : relative + "/" + name
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved.path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue {
                let nestedEntry = resolved.appendingPathComponent(entryFile).path
                if FileManager.default.fileExists(atPath: nestedEntry) { continue }
                try collect(resolved, relative: path, root: root, into: &contents)
            } else if name.hasSuffix(".lua") || name.hasSuffix(RuleSet.keywordListSuffix) {
                guard contents.count < maximumFiles else {
                    throw RulesError(kind: .tooLarge, file: path, message: "more than \(maximumFiles) rule files")
                }
                guard let data = FileManager.default.contents(atPath: resolved.path) else {
                    throw RulesError(kind: .unreadable, file: path, message: "cannot read the file")
                }
                guard data.count <= maximumBytes(of: path) else {
                    throw RulesError(kind: .tooLarge, file: path, message: "\(data.count) bytes (at most \(maximumBytes(of: path)))")
                }
                contents[path] = [UInt8](data)
            }
        }
    }

    /// The file `require(name)` loads: `lib.tiers` → `lib/tiers.lua`.
    public static func path(ofModule name: String) -> String {
        name.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/") + ".lua"
    }

    /// A relative path of `.lua` segments without `..`, `.` or empty parts.
    static func isAcceptablePath(_ path: String) -> Bool {
        guard path.hasSuffix(".lua") || path.hasSuffix(keywordListSuffix), !path.hasPrefix("/"), path.utf8.count <= 1024 else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part != "." && part != ".."
        }
    }
}
