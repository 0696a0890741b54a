import Foundation
import XCTest

/// Runs the built `urgencyiq` binary as a user would and captures what it prints.
struct CommandRunner {
    struct Result {
        var status: Int32
        var output: String
        var errors: String
    }

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The binary next to the test bundle (swift test builds it because this target depends on it).
    static var binary: URL { Bundle.main.bundleURL.appendingPathComponent("urgencyiq") }

    /// Runs `urgencyiq arguments…` in the repository root, with `input` on standard input.
    static func run(_ arguments: [String], input: String? = nil, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = repository
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe(), errors = Pipe(), standardInput = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = standardInput
        try process.run()
        if let input { standardInput.fileHandleForWriting.write(Data(input.utf8)) }
        try standardInput.fileHandleForWriting.close()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      errors: String(decoding: errorData, as: UTF8.self))
    }
}

/// A file under the temporary directory, removed by `remove()`.
struct TemporaryFile {
    let path: String

    init(_ contents: [UInt8], suffix: String = ".csv") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-cli-\(UUID().uuidString)\(suffix)").path
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    init(_ contents: String, suffix: String = ".csv") throws { try self.init(Array(contents.utf8), suffix: suffix) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
