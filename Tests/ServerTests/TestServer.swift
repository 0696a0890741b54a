import Foundation
import RulesEngine
import XCTest
@testable import Server
import TestSupport

/// A real server on an ephemeral loopback port, over a real SQLite file in a temporary directory.
final class TestServer {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    let directory: URL
    let server: UrgencyIQServer
    var port: UInt16 { server.port }

    /// Starts a server; `configure` adjusts the configuration first. `directory` reuses a database directory.
    init(directory: URL? = nil, configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        self.directory = directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("uiq-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
        var configuration = ServerConfiguration()
        configuration.http.port = 0
        configuration.http.workerThreads = 8
        configuration.database = try TestServer.database(in: self.directory)
        // The seed's profile: these suites assert the seed's own numbers (the API promises them under it).
        configuration.rulesDirectory = TestServer.repository.appendingPathComponent("rules/profiles/seed").path
        configuration.seedFile = TestServer.repository.appendingPathComponent("data/sample_messages.csv").path
        configuration.logFormat = .off
        configure(&configuration)
        server = try UrgencyIQServer(configuration: configuration, ruleLog: DiscardingLogSink())
    }

    func client() -> TestHTTPClient { TestHTTPClient(port: port) }

    /// Whether the HTTP-level tests run against PostgreSQL (`URGENCYIQ_TEST_STORE=postgres`, as the second pass
    /// of `make test` does) instead of SQLite.
    static var usesPostgres: Bool { ProcessInfo.processInfo.environment["URGENCYIQ_TEST_STORE"] == "postgres" }

    /// The database of a test directory: a SQLite file in it, or a fresh PostgreSQL database on the test server
    /// whose URL is kept in it (so a restart on the same directory finds the same data).
    static func database(in directory: URL) throws -> ServerConfiguration.Database {
        guard usesPostgres else { return .sqlite(path: directory.appendingPathComponent("test.db").path) }
        let file = directory.appendingPathComponent("postgres-url")
        if let url = try? String(contentsOf: file, encoding: .utf8) { return .postgres(url: url) }
        let url = try PostgresTestServer.shared().database()
        try Data(url.utf8).write(to: file)
        return .postgres(url: url)
    }

    /// Stops the server; `removeFiles` deletes the database too.
    func stop(removeFiles: Bool = true) {
        server.shutdown(timeout: 5)
        if removeFiles { try? FileManager.default.removeItem(at: directory) }
    }
}
