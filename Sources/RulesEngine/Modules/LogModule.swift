import Foundation

/// Severity of a line a rule logs.
public enum RuleLogLevel: String, Sendable, CaseIterable {
    case debug, info, warn, error
}

/// Where rule log lines go (stderr by default; the server sends them to its log).
public protocol RuleLogSink: Sendable {
    func write(level: RuleLogLevel, message: String, rulesVersion: String)
}

/// Writes rule log lines to standard error, at or above a minimum level.
public struct StandardErrorLogSink: RuleLogSink {
    public var minimumLevel: RuleLogLevel

    public init(minimumLevel: RuleLogLevel = .info) { self.minimumLevel = minimumLevel }

    public func write(level: RuleLogLevel, message: String, rulesVersion: String) {
        let order = RuleLogLevel.allCases
        guard order.firstIndex(of: level)! >= order.firstIndex(of: minimumLevel)! else { return }
        FileHandle.standardError.write(Data("rules[\(rulesVersion)] \(level.rawValue): \(message)\n".utf8))
    }
}

/// Discards rule log lines (benchmarks, the fixture harness).
public struct DiscardingLogSink: RuleLogSink {
    public init() {}
    public func write(level: RuleLogLevel, message: String, rulesVersion: String) {}
}

/// The `log` module: `log.info("...")` and friends, capped per evaluation so a chatty rule cannot flood.
enum LogModule {
    static let module = HostModule(name: "log", functions: [("write", write)], lua: lua)

    /// What rules see as `log` (and `print`, which logs at info), from the native `write`.
    static let lua = """
        local native_log = native.write
        local function logger(level)
          return function(message, ...)
            if select("#", ...) > 0 then message = format(message, ...) end
            native_log(level, tostring(message))
          end
        end
        local log = { debug = logger("debug"), info = logger("info"), warn = logger("warn"), error = logger("error") }
        rawset(G, "print", function(...)
          local parts = {}
          for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
          native_log("info", concat(parts, "\\t"))
        end)
        return log
        """

    static let maximumLineBytes = 2048

    /// write(level, message)
    private static let write: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        guard let levelName = call.arguments.string(at: 1), let level = RuleLogLevel(rawValue: levelName),
              let bytes = call.arguments.bytes(at: 2) else { return call.fail("log: expected a level and a message") }
        environment.logLines += 1
        guard environment.logLines <= environment.limits.logLinesPerEvaluation else { return 0 }
        var message = String(decoding: bytes.prefix(maximumLineBytes), as: UTF8.self)
        if bytes.count > maximumLineBytes { message += "… (\(bytes.count) bytes)" }
        if environment.logLines == environment.limits.logLinesPerEvaluation {
            message += " (further log lines of this evaluation are dropped)"
        }
        environment.log.write(level: level, message: message, rulesVersion: environment.ruleSet.version)
        return 0
    }
}
