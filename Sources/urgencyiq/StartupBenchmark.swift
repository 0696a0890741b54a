import Foundation

/// `urgencyiq bench --startup`: launches `urgencyiq serve` on a fresh database and times how long it takes until
/// `GET /api/health` is answered.
enum StartupBenchmark {
    static func run(runs: Int) -> Int32 {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-startup-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        var times: [Double] = []
        for run in 0..<runs {
            let port = UInt16(20_000 + Int(getpid() % 20_000) + run)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            process.arguments = ["serve", "--port", String(port), "--db", directory.appendingPathComponent("s\(run).db").path,
                                 "--log-format", "off", "--env-file", "/nonexistent"]
            process.standardError = FileHandle.nullDevice
            let start = DispatchTime.now().uptimeNanoseconds
            do { try process.run() } catch {
                Terminal.error("urgencyiq bench: cannot launch serve: \(error)")
                return 2
            }
            var answered = false
            while DispatchTime.now().uptimeNanoseconds - start < 10_000_000_000 {
                if healthAnswers(port: port) {
                    answered = true
                    break
                }
                usleep(200)
            }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            process.terminate()
            process.waitUntilExit()
            guard answered else {
                Terminal.error("urgencyiq bench: serve did not answer within 10 s")
                return 1
            }
            times.append(elapsed)
        }
        times.sort()
        Terminal.write("startup: median \(String(format: "%.1f", times[times.count / 2])) ms from launch to the first answered request "
            + "over \(runs) runs (min \(String(format: "%.1f", times.first!)), max \(String(format: "%.1f", times.last!)))\n")
        return 0
    }

    /// Whether GET /api/health on `port` answers 200 right now.
    private static func healthAnswers(port: UInt16) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        return count >= 12 && String(decoding: buffer[9..<12], as: UTF8.self) == "200"
    }
}
