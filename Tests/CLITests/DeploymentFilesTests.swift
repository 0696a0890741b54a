import Foundation
import XCTest
@testable import Server

/// The files an operator deploys with: `.env.example` lists every variable the server reads, and the systemd
/// unit is one systemd accepts.
final class DeploymentFilesTests: XCTestCase {
    func testTheEnvExampleListsEveryVariableAndReadsAsAnEnvFile() throws {
        let example = CommandRunner.repository.appendingPathComponent(".env.example")
        let text = try String(contentsOf: example, encoding: .utf8)
        for variable in ServerConfiguration.variables {
            XCTAssertTrue(text.contains("\n#\(variable.name)="), "\(variable.name) is missing from .env.example")
        }
        // Everything is commented out: as an env file it sets nothing, so copying it changes no default.
        let configuration = try ServerConfiguration.load(flags: [:], environment: [:], envFile: example.path)
        XCTAssertEqual(configuration.http.port, ServerConfiguration().http.port)
        XCTAssertEqual(configuration.database, ServerConfiguration().database)
    }

    func testSystemdAcceptsTheUnit() throws {
        guard let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first(where: FileManager.default.isExecutableFile) else {
            throw XCTSkip("systemd-analyze is not installed here")
        }
        // The unit as installed, with ExecStart pointing at the binary just built.
        let unit = try String(contentsOf: CommandRunner.repository.appendingPathComponent("docs/urgencyiq.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/urgencyiq", with: CommandRunner.binary.path)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("urgencyiq.service")
        try Data(unit.utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze)
        process.arguments = ["verify", file.path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = errors
        try process.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertFalse(output.contains("urgencyiq.service:"), "systemd-analyze found problems in the unit:\n\(output)")
        for hardening in ["DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=urgencyiq", "NoNewPrivileges=yes"] {
            XCTAssertTrue(unit.contains(hardening), hardening)
        }
    }
}
