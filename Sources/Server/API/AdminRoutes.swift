import Foundation

/// The seed's admin and settings endpoints: `/admin/seed`, `/admin/rescore`, and the LLM toggle. They need the
/// importer, the rescorer and the scoring (for its options and the toggle).
struct AdminRoutes {
    let importer: SeedImporter
    let rescorer: Rescorer
    let scoring: ScoringService
    /// The background LLM step (its queue is part of the LLM status).
    let refiner: LLMRefiner
    /// The CSV `POST /admin/seed` imports.
    let seedFile: String
    let audit: AuditTrail

    var routes: [Route] {
        [
            Route("POST", "/admin/seed", access: .admin) { request, _ in
                guard FileManager.default.isReadableFile(atPath: seedFile) else {
                    throw HTTPError.conflict("the seed file \(seedFile) cannot be read (set SEED_FILE)")
                }
                let (options, mayBlock) = scoring.options()
                do {
                    let report = try importer.importFile(seedFile, options: options,
                                                         concurrency: scoring.batchConcurrency(mayBlock: mayBlock))
                    audit.record(request.auditEntry("admin.seed", detail: report.json))
                    return .json(report.json)
                } catch {
                    throw HTTPError.unprocessable("cannot import \(seedFile): \(error)")
                }
            },
            Route("POST", "/admin/rescore", access: .admin) { request, _ in
                let fields = try RequestFields(request)
                var status = MessageQuery.StatusFilter.open
                if fields.isPresent("status") {
                    guard let parsed = fields.rawString("status").flatMap(MessageQuery.StatusFilter.init(rawValue:)) else {
                        throw HTTPError.badRequest("status must be open, resolved or all")
                    }
                    status = parsed
                }
                let (options, mayBlock) = scoring.options()
                let report = try rescorer.run(status: status, options: options, concurrency: scoring.batchConcurrency(mayBlock: mayBlock))
                audit.record(request.auditEntry("admin.rescore", detail: report.json))
                return .json(report.json)
            },
            Route("GET", "/api/llm/status", access: .read) { _, _ in
                guard case .object(var status) = scoring.llmClient.status(enabled: scoring.llm.isEnabled) else { return .json(.null) }
                status["queue"] = refiner.status()
                return .json(.object(status))
            },
            Route("GET", "/api/get/llm", access: .read) { _, _ in .json(["use_llm": .bool(scoring.llm.isEnabled)]) },
            Route("POST", "/api/set/llm", access: .admin) { request, _ in
                let enabled = try RequestFields(request).boolean("use_llm")
                try scoring.llm.set(enabled)
                audit.record(request.auditEntry("llm.toggle", detail: ["use_llm": .bool(enabled)]))
                return .json(["success": true])
            },
        ]
    }
}
