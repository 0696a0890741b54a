import Foundation
import Support

/// The web console's files (HTML, CSS, JavaScript modules, icons): plain files kept in the repository
/// (`Sources/Server/Resources/console`) and served by the binary, no build step. Read once at start; with a
/// directory given explicitly (`CONSOLE_DIR`, for working on the console) they are read again on every request,
/// so an edit (or a new file) shows on the next reload of the page.
public final class ConsoleAssets: Sendable {
    /// One file as served.
    public struct Asset: Sendable {
        public var bytes: [UInt8]
        public var contentType: String
        /// A strong validator: the first 16 hex digits of the file's SHA-256, quoted.
        public var etag: String
    }

    /// Where the files come from.
    public let directory: String?
    /// Re-read files on every request (a directory given explicitly).
    public let live: Bool
    /// The files by name (one level, no folders: `app.js`, `style.css`), as read at start.
    private let assets: [String: Asset]

    /// The files in `directory`, or the copy installed beside the binary when nil.
    public init(directory: String?) {
        let resolved = directory ?? Bundle.module.url(forResource: "console", withExtension: nil)?.path
        self.directory = resolved
        live = directory != nil
        var assets: [String: Asset] = [:]
        if let resolved, let names = try? FileManager.default.contentsOfDirectory(atPath: resolved) {
            for name in names where ConsoleAssets.isServable(name) {
                if let asset = ConsoleAssets.read(resolved + "/" + name) { assets[name] = asset }
            }
        }
        self.assets = assets
    }

    /// The names of the files served.
    public var names: [String] { assets.keys.sorted() }

    /// A file by name, read again from disk in live mode.
    public func asset(named name: String) -> Asset? {
        if live, let directory, ConsoleAssets.isServable(name) { return ConsoleAssets.read(directory + "/" + name) }
        return assets[name]
    }

    /// Only plain names with a known type: nothing hidden, no folders.
    static func isServable(_ name: String) -> Bool {
        !name.hasPrefix(".") && !name.contains("/") && contentType(for: name) != nil
    }

    static func contentType(for name: String) -> String? {
        switch name.split(separator: ".").last.map(String.init) {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        case "json": "application/json"
        default: nil
        }
    }

    private static func read(_ path: String) -> Asset? {
        guard let data = FileManager.default.contents(atPath: path),
              let type = contentType(for: RelativePath.name(of: path)) else { return nil }
        let bytes = [UInt8](data)
        let digest = SHA256.hex(bytes).prefix(16)
        return Asset(bytes: bytes, contentType: type, etag: "\"\(digest)\"")
    }
}
