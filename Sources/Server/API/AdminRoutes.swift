import Foundation

/// The seed's admin and settings endpoints: `/admin/seed`, and the LLM toggle.
enum AdminRoutes {
    static func routes(_ context: APIContext) -> [Route] {
        [
            Route("POST", "/admin/seed", admin: true) { _, _ throws(HTTPError) in
                guard FileManager.default.isReadableFile(atPath: context.seedFile) else {
                    throw HTTPError(409, "the seed file \(context.seedFile) cannot be read (set SEED_FILE)")
                }
                do {
                    let (options, mayBlock) = context.scoringOptions()
                    let report = try context.importer.importFile(context.seedFile, options: options,
                                                                 concurrency: context.batchConcurrency(mayBlock: mayBlock))
                    return .json(report.json)
                } catch {
                    throw HTTPError(422, "cannot import \(context.seedFile): \(error)")
                }
            },
            Route("POST", "/admin/rescore", admin: true) { request, _ throws(HTTPError) in
                let fields = try RequestFields(request)
                var status = MessageQuery.StatusFilter.open
                if fields.isPresent("status") {
                    guard let parsed = fields.rawString("status").flatMap(MessageQuery.StatusFilter.init(rawValue:)) else {
                        throw .badRequest("status must be open, resolved or all")
                    }
                    status = parsed
                }
                let (options, mayBlock) = context.scoringOptions()
                let report = try context.stored { () throws(StoreError) in
                    try Rescorer(store: context.store, rules: context.rules)
                        .run(status: status, options: options, concurrency: context.batchConcurrency(mayBlock: mayBlock))
                }
                return .json(report.json)
            },
            Route("GET", "/api/llm/status") { _, _ throws(HTTPError) in
                .json(context.llmClient.status(enabled: context.llm.isEnabled))
            },
            Route("GET", "/api/get/llm") { _, _ throws(HTTPError) in
                .json(["use_llm": .bool(context.llm.isEnabled)])
            },
            Route("POST", "/api/set/llm", admin: true) { request, _ throws(HTTPError) in
                let enabled = try RequestFields(request).boolean("use_llm")
                try context.stored { () throws(StoreError) in try context.llm.set(enabled) }
                return .json(["success": true])
            },
        ]
    }
}
