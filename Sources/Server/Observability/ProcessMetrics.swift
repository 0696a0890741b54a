import Foundation

/// The standard `process_*` metrics, read from /proc when scraped.
enum ProcessMetrics {
    /// When the process started (seconds since 1970), fixed at first use: the server touches it at start.
    static let startTime = Date().timeIntervalSince1970

    static func write(to text: inout PrometheusText) {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
            if fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) {
                text.family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
                text.sample("process_cpu_seconds_total", (user + system) / ticks)
            }
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
           let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
            text.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            text.sample("process_resident_memory_bytes", kilobytes * 1024)
        }
        text.family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
        text.sample("process_start_time_seconds", startTime)
        if let descriptors = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            text.family("process_open_fds", "gauge", "Number of open file descriptors.")
            text.sample("process_open_fds", descriptors.count)
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 {
            text.family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
            text.sample("process_max_fds", Double(limit.rlim_cur))
        }
    }
}
