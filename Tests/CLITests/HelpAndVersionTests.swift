import Foundation
import Support
import TestSupport
import XCTest

/// The CLI tells the truth about itself: every usage line lists every option its command takes, `help COMMAND`
/// is `COMMAND --help`, and `--version` and `GET /api/version` say what is running.
final class HelpAndVersionTests: XCTestCase {
    static let commands = ["score", "check", "serve", "import", "rescore", "bench"]

    func testEveryUsageLineListsEveryOption() throws {
        for command in HelpAndVersionTests.commands {
            let help = try CommandRunner.run([command, "--help"])
            XCTAssertEqual(help.status, 0)
            let sections = help.output.components(separatedBy: "\n\n")
            let usage = try XCTUnwrap(sections.first { $0.hasPrefix("usage: ") }, command)
            let options = try XCTUnwrap(sections.first { $0.hasPrefix("options:") }, command)
            for line in options.split(separator: "\n").dropFirst() {
                // `  -v, --verbose  help…`: the option's names, before its value name and help.
                let names = line.split(separator: " ", omittingEmptySubsequences: true).prefix { $0.hasPrefix("-") }
                    .map { String($0.trimmingCharacters(in: CharacterSet(charactersIn: ","))) }
                guard !names.isEmpty, !names.contains("--help") else { continue }
                XCTAssertTrue(names.contains { name in
                    usage.contains("[" + name) || usage.contains(" " + name + " ") || usage.contains("| " + name) || usage.contains(name + "]")
                }, "\(command): the usage line omits \(names)\n\(usage)")
            }
            XCTAssertEqual(try CommandRunner.run(["help", command]).output, help.output, "help \(command) is \(command) --help")
        }
        for command in ["serve", "import", "rescore"] {
            XCTAssertTrue(try CommandRunner.run([command, "--help"]).output.contains("DATABASE_URL"), "\(command) mentions PostgreSQL")
        }
    }

    func testTheVersionSaysWhatRuns() throws {
        let version = try CommandRunner.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.output.hasPrefix("urgencyiq 1.0.0"), version.output)
        for library in ["lua 5.4", "sqlite 3.", "libmicrohttpd 0.9", "libcurl ", "libpq "] {
            XCTAssertTrue(version.output.contains("  " + library), "\(library) in \(version.output)")
        }
        XCTAssertEqual(try CommandRunner.run(["version"]).output, version.output)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-version-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = try ServerProcess(database: directory.appendingPathComponent("v.db").path)
        defer { server.stop() }
        let answer = try XCTUnwrap(try TestHTTPClient(port: server.port).request("GET", "/api/version").json)
        XCTAssertEqual(answer["version"], "1.0.0")
        XCTAssertEqual(answer["libraries"]?["libmicrohttpd"]?.stringValue?.hasPrefix("0.9"), true, "\(answer)")
        XCTAssertNotNil(answer["build_date"]?.stringValue)
        // The OpenAPI document carries the same version.
        let document = try XCTUnwrap(try TestHTTPClient(port: server.port).request("GET", "/openapi.json").json)
        XCTAssertEqual(document["info"]?["version"], answer["version"])
    }
}
