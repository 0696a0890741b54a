import Foundation
import XCTest

/// `urgencyiq serve` as a child process on a free port, for tests that need a real process: kill -9,
/// signals, restarts.
final class ServerProcess {
    let process = Process()
    private(set) var port: UInt16 = 0
    private let errors = Pipe()

    /// Starts the server on `database` (a SQLite file, or a `postgresql://` URL) and waits until it listens.
    init(database: String, extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        process.executableURL = CommandRunner.binary
        let postgres = database.hasPrefix("postgresql://")
        process.arguments = ["serve", "--port", "0"] + (postgres ? [] : ["--db", database])
            + ["--log-format", "off", "--env-file", "/nonexistent"] + extraArguments
        process.currentDirectoryURL = CommandRunner.repository
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            .merging(postgres ? ["DATABASE_URL": database] : [:]) { $1 }
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: #"serving on http://[^:]+:(\d+)"#, options: .regularExpression) {
                let match = String(seen[range])
                port = UInt16(match.split(separator: ":").last ?? "") ?? 0
                return
            }
        }
        process.terminate()
        throw TestFailure("the server did not start: \(seen)")
    }

    /// Sends `signal` and waits for the process to end; its exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// What the server wrote to standard error after starting.
    func remainingErrors() -> String { String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
