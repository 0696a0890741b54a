import Foundation
import RulesEngine
import Support

/// What this binary is: its version, the commit it was built from when the build recorded it (`make build` writes
/// `git rev-parse HEAD` beside the binary as `urgencyiq.commit`), when it was built (the executable's modification
/// time), and the versions of the C libraries it runs on, read from them at run time (each by its wrapper).
public enum BuildInfo {
    /// The product's version (the OpenAPI document's `info.version` too; a test keeps them equal).
    public static let version = "1.0.0"

    /// The commit recorded beside the executable, if any.
    public static let commit: String? = {
        guard let executable = Bundle.main.executablePath,
              let text = try? String(contentsOfFile: executable + ".commit", encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.count >= 7 && commit.allSatisfy(\.isHexDigit) ? commit : nil
    }()

    /// When the executable was written (its modification time), as `2026-11-29T22:50:01`.
    public static let buildDate: String? = {
        guard let executable = Bundle.main.executablePath,
              let modified = (try? FileManager.default.attributesOfItem(atPath: executable))?[.modificationDate] as? Date else { return nil }
        return Timestamp(modified).isoformat.prefix(19).description
    }()

    /// The libraries, by name: Lua, SQLite, libmicrohttpd, libcurl, libpq.
    public static let libraries: [(name: String, version: String)] = [
        ("lua", LuaVersion.release),
        ("sqlite", SQLiteConnection.libraryVersion),
        ("libmicrohttpd", HTTPDaemon.libraryVersion),
        ("libcurl", CurlHandle.libraryVersion),
        ("libpq", PostgresConnection.libraryVersion),
    ]

    /// For `GET /api/version`.
    public static var json: JSONValue {
        ["version": .string(version), "commit": commit.map(JSONValue.string) ?? .null, "build_date": buildDate.map(JSONValue.string) ?? .null,
         "libraries": .object(Dictionary(uniqueKeysWithValues: libraries.map { ($0.name, JSONValue.string($0.version)) }))]
    }

    /// For `urgencyiq --version`.
    public static var text: String {
        "urgencyiq \(version)" + (commit.map { " (commit \($0.prefix(12)))" } ?? "") + (buildDate.map { ", built \($0)" } ?? "") + "\n"
            + libraries.map { "  \($0.name) \($0.version)" }.joined(separator: "\n") + "\n"
    }
}
