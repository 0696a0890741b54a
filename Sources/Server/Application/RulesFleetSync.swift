import Foundation
import RulesEngine
import Support

/// Keeps every server of a fleet on one PostgreSQL database on the rule set last deployed through the API: a
/// thread asks the database for the latest deployment's id every `interval` seconds and, when there is a newer
/// one than this server has seen, deploys its files here too (validated and gated like any reload, written
/// over this server's rules directory, activated). A server that starts later activates the current
/// deployment on its first look. Not used on SQLite, where the rules directory stays the source.
final class RulesFleetSync: @unchecked Sendable {
    private let store: any Store
    private let reloader: RulesReloader
    private let rules: ActiveRules
    /// The newest deployment seen (only the sync thread touches it).
    private var seen: Int64 = 0
    private var worker: RepeatingWorker?

    init(store: any Store, reloader: RulesReloader, rules: ActiveRules, interval: Double = 1) {
        self.store = store
        self.reloader = reloader
        self.rules = rules
        worker = nil
        worker = RepeatingWorker(name: "rules-fleet", pause: interval) { [unowned self] in
            follow()
            return false
        }
    }

    func start() { worker?.start() }

    func stop() { worker?.stop() }

    /// One look at the database: deploys a newer deployment whose version is not the active one.
    private func follow() {
        guard let latest = try? store.latestDeploymentID(), latest > seen,
              let deployment = try? store.latestDeployment() else { return }
        seen = deployment.id
        guard deployment.version != rules.scorer.rulesVersion, !deployment.files.isEmpty else { return }
        reloader.deploy(deployment.files.mapValues { Array($0.utf8) }, trigger: .fleet,
                        by: "\(deployment.deployedBy) on \(deployment.instance)")
    }
}
