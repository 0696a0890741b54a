import Foundation
import Synchronization
import XCTest

/// A throwaway PostgreSQL server for the tests: `initdb` into a temporary directory, `pg_ctl start` on a free
/// loopback port, one fresh database per test (`database()`), stopped when the test run ends. Runs the server as
/// the `postgres` system user when the tests run as root (PostgreSQL refuses to run as root). No mocks.
public final class PostgresTestServer: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The server shared by the whole test run, started on first use.
    public static func shared() throws -> PostgresTestServer {
        try sharedServer.withLock { server in
            if let server { return server }
            let started = try PostgresTestServer()
            server = started
            XCTestObservationCenter.shared.addTestObserver(StopAtTheEnd(started))
            return started
        }
    }

    private static let sharedServer = Mutex<PostgresTestServer?>(nil)

    public let port: UInt16
    public let dataDirectory: String
    public let binDirectory: String
    private let root: String
    private let runAsPostgres: Bool
    private let counter = Atomic<Int>(0)
    public static let user = "urgencyiq"

    private init() throws {
        guard let bin = PostgresTestServer.findBinDirectory() else {
            throw Failure(description: "PostgreSQL server binaries not found (apt-get install postgresql; `make deps` does)")
        }
        binDirectory = bin
        runAsPostgres = geteuid() == 0
        root = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-pg-\(getpid())-\(UUID().uuidString.prefix(8))").path
        dataDirectory = root + "/data"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if runAsPostgres { try PostgresTestServer.run("/bin/chown", ["postgres:postgres", root]) }
        port = PostgresTestServer.freePort()
        try command("initdb", ["-D", dataDirectory, "-U", PostgresTestServer.user, "-A", "trust", "-E", "UTF8",
                               "--locale=C", "--no-sync"])
        try startServer()
    }

    /// The server's settings: this port only, on loopback, no fsync (a test database need not survive a power
    /// cut; a crash of PostgreSQL itself still loses nothing committed).
    private var serverOptions: String {
        "-p \(port) -k \(root) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c shared_buffers=64MB"
    }

    /// The URL of a new, empty database on this server.
    public func database() throws -> String {
        let name = "test_\(getpid())_\(counter.add(1, ordering: .relaxed).newValue)"
        try command("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", PostgresTestServer.user, name])
        return url(name)
    }

    public func url(_ database: String) -> String {
        "postgresql://\(PostgresTestServer.user)@127.0.0.1:\(port)/\(database)"
    }

    /// Stops the server now (`pg_ctl stop -m fast`), as an outage.
    public func stopServer() throws {
        try command("pg_ctl", ["-D", dataDirectory, "-w", "-m", "fast", "stop"])
    }

    /// Starts it again after `stopServer`.
    public func startServer() throws {
        try command("pg_ctl", ["-D", dataDirectory, "-l", root + "/server.log", "-w", "-t", "60", "-o", serverOptions, "start"])
    }

    fileprivate func shutdown() {
        _ = try? command("pg_ctl", ["-D", dataDirectory, "-w", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Runs a PostgreSQL program, as `postgres` when we are root.
    @discardableResult
    private func command(_ name: String, _ arguments: [String]) throws -> String {
        let program = binDirectory + "/" + name
        if runAsPostgres { return try PostgresTestServer.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments) }
        return try PostgresTestServer.run(program, arguments)
    }

    /// Runs `program` and waits for it (posix_spawn and waitpid: the server that pg_ctl leaves running must not
    /// hold a pipe of ours, and must not confuse a child-process watcher); its output, or an error with it.
    @discardableResult
    private static func run(_ program: String, _ arguments: [String]) throws -> String {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-pg-cmd-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "cannot run \(program): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw Failure(description: "\(program) \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
        return output
    }

    private static func findBinDirectory() -> String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).compactMap(Int.init).sorted(by: >)
        return versions.map { "\(base)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }

    private static func freePort() -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 ? getsockname(descriptor, pointer, &length) : -1
            }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}

/// Stops the shared server when the test bundle finishes.
private final class StopAtTheEnd: NSObject, XCTestObservation {
    let server: PostgresTestServer
    init(_ server: PostgresTestServer) { self.server = server }
    func testBundleDidFinish(_ testBundle: Bundle) { server.shutdown() }
}
