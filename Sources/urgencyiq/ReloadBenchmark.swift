import Foundation
import RulesEngine

/// `urgencyiq bench --reload`: how long from writing a rule file to the new version serving, through the same
/// watcher and reloader `serve` uses (inotify, debounce, load, probe, optional gate, swap).
enum ReloadBenchmark {
    static func run(rulesDirectory: String, gate: String?, runs: Int) -> Int32 {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("uiq-reload-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: copy) }
        let entry = copy.appendingPathComponent(RuleSet.entryFile)
        let original: String
        let rules: ActiveRules
        do {
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(atPath: rulesDirectory, toPath: copy.path)
            original = try String(contentsOf: entry, encoding: .utf8)
            rules = ActiveRules(try Scorer(rulesDirectory: copy.path, log: DiscardingLogSink()))
        } catch {
            Terminal.error("urgencyiq bench: cannot prepare the rules: \(error)")
            return 2
        }
        let reloader = RulesReloader(directory: copy.path, rules: rules, log: DiscardingLogSink(), gate: gate)
        let watcher = RulesWatcher(directory: copy.path) { reloader.reload(trigger: .fileChange) }
        watcher.start()
        defer { watcher.stop() }

        var latencies: [Double] = []
        var reloadDurations: [Double] = []
        for run in 1...runs {
            let before = rules.scorer.rulesVersion
            let started = DispatchTime.now().uptimeNanoseconds
            do {
                try Data((original + "\n-- reload benchmark run \(run)\n").utf8).write(to: entry)
            } catch {
                Terminal.error("urgencyiq bench: cannot write \(entry.path): \(error)")
                return 2
            }
            while rules.scorer.rulesVersion == before {
                if DispatchTime.now().uptimeNanoseconds - started > 10_000_000_000 {
                    Terminal.error("urgencyiq bench: the change did not go live within 10 s: \(rules.lastAttempt?.error ?? "no attempt")")
                    return 1
                }
                usleep(500)
            }
            latencies.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
            reloadDurations.append((rules.lastAttempt?.duration ?? 0) * 1000)
            usleep(200_000)  // let the watcher settle between runs
        }
        func median(_ values: [Double]) -> String { String(format: "%.1f", values.sorted()[values.count / 2]) }
        Terminal.write("reload: median \(median(latencies)) ms from the file write to the new version serving "
            + "(max \(String(format: "%.1f", latencies.max() ?? 0))) over \(runs) edits of \(rulesDirectory)/urgency.lua"
            + (gate.map { ", gated by \($0)" } ?? "") + "; of which loading, probing"
            + (gate == nil ? "" : ", gating") + " and swapping: median \(median(reloadDurations)) ms; "
            + "the rest is the \(Int(RulesWatcher.defaultDebounce * 1000)) ms debounce\n")
        return 0
    }
}
