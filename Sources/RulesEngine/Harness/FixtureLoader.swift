import Foundation
import Support

/// A fixture file that cannot be used, with the file and line to fix.
public struct FixtureError: Error, Sendable, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var message: String
    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads golden fixtures from CSV files and directories of them.
///
/// Columns: `message`, and `expected` or `label` (or both): `expected` makes a pass/fail fixture (another
/// name may be given, for files such as the seed's parity exports), `label` (a person's urgency, 1 to 5) makes
/// the file an accuracy set. `id`, `llm`, `llm_enabled`, `tags`, `note` are optional.
public enum FixtureLoader {
    /// The fixture files under `paths`: each file as given, each directory's `.csv` files (recursively, sorted).
    public static func files(in paths: [String]) throws(FixtureError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw FixtureError(file: path, line: 0, message: "no such file or directory")
            }
            guard isDirectory.boolValue else {
                files.append(path)
                continue
            }
            guard let enumerator = FileManager.default.enumerator(atPath: path) else {
                throw FixtureError(file: path, line: 0, message: "cannot list the directory")
            }
            let found = enumerator.compactMap { $0 as? String }.filter { $0.hasSuffix(".csv") && !$0.hasPrefix(".") }.sorted()
            files += found.map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }

    /// Every fixture under `paths` (files as given, directories' `.csv` files), in order. `progress` is told the
    /// fixtures read so far, now and then.
    public static func loadAll(_ paths: [String], expectedColumn: String = "expected",
                               progress: ((Int) -> Void)? = nil) throws(FixtureError) -> [Fixture] {
        var fixtures: [Fixture] = []
        for file in try files(in: paths) {
            let before = fixtures.count
            fixtures += try load(file, expectedColumn: expectedColumn, progress: progress.map { report in { report(before + $0) } })
        }
        return fixtures
    }

    /// Every fixture of `file`, in order. `progress` is told the rows read so far, now and then.
    public static func load(_ file: String, expectedColumn: String = "expected",
                            progress: ((Int) -> Void)? = nil) throws(FixtureError) -> [Fixture] {
        do {
            let table = try CSVTable(reader: try CSVReader(path: file))
            let message = try table.require("message")
            let label = table.column("label")
            let expected = label == nil || table.column(expectedColumn) != nil ? try table.require(expectedColumn) : nil
            let id = table.column("id"), llm = table.column("llm"), llmEnabled = table.column("llm_enabled")
            let tags = table.column("tags"), note = table.column("note")
            var fixtures: [Fixture] = []
            while let record = try table.next() {
                func field(_ column: Int?) -> String? {
                    guard let column, column < record.fields.count else { return nil }
                    return record.fields[column]
                }
                var expectation: Fixture.Expectation?
                if let expected {
                    guard let expectedText = field(expected), let parsed = Fixture.Expectation(parsing: expectedText) else {
                        throw FixtureError(file: file, line: record.line,
                                           message: "expected must be a number such as 4.5 or a range such as 3.5..5, got '\(field(expected) ?? "")'")
                    }
                    expectation = parsed
                }
                var judged: Int?
                if let label {
                    let text = (field(label) ?? "").trimmingCharacters(in: .whitespaces)
                    guard let value = Int(text), (1...5).contains(value) else {
                        throw FixtureError(file: file, line: record.line, message: "label must be a whole number from 1 to 5, got '\(text)'")
                    }
                    judged = value
                }
                let enabledText = field(llmEnabled)?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
                let enabled: Bool
                switch enabledText {
                case "", "false", "0", "no": enabled = false
                case "true", "1", "yes": enabled = true
                default:
                    throw FixtureError(file: file, line: record.line, message: "llm_enabled must be true or false, got '\(enabledText)'")
                }
                let reply = field(llm)
                fixtures.append(Fixture(
                    file: file, line: record.line, id: field(id).flatMap { $0.isEmpty ? nil : $0 },
                    message: field(message) ?? "", expected: expectation,
                    llmReply: (reply?.isEmpty ?? true) ? nil : reply, llmEnabled: enabled,
                    tags: (field(tags) ?? "").split(separator: " ").map(String.init),
                    note: field(note).flatMap { $0.isEmpty ? nil : $0 }, label: judged))
                if fixtures.count % 4096 == 0 { progress?(fixtures.count) }
            }
            return fixtures
        } catch let error as CSVReader.Error {
            throw FixtureError(file: file, line: error.line, message: error.message)
        } catch let error as FixtureError {
            throw error
        } catch {
            throw FixtureError(file: file, line: 0, message: "\(error)")
        }
    }
}
