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
        configuration.database = .sqlite(path: self.directory.appendingPathComponent("test.db").path)
        configuration.rulesDirectory = TestServer.repository.appendingPathComponent("rules").path
        configuration.seedFile = TestServer.repository.appendingPathComponent("data/sample_messages.csv").path
        configuration.logFormat = .off
        configure(&configuration)
        server = try UrgencyIQServer(configuration: configuration, ruleLog: DiscardingLogSink())
    }

    func client() -> TestHTTPClient { TestHTTPClient(port: port) }

    /// Stops the server; `removeFiles` deletes the database too.
    func stop(removeFiles: Bool = true) {
        server.shutdown(timeout: 5)
        if removeFiles { try? FileManager.default.removeItem(at: directory) }
    }
}
