import Support

/// Access control's endpoints: the API keys (`/api/keys`, admin), the audit trail (`/api/audit`, admin), a
/// ticket's history (`/api/messages/{id}/history`, read) and who the caller is (`/api/whoami`, read).
struct AccessRoutes {
    let store: any Store
    let gate: AccessGate
    let audit: AuditTrail

    static let defaultAuditLimit = 100
    static let maximumAuditLimit = 1000

    var routes: [Route] {
        [
            Route("GET", "/api/whoami", access: .read, handler: .immediate { request, _ in
                let credential = switch request.principal.credential {
                case .key: "key"
                case .adminToken: "admin-token"
                case .none: "none"
                }
                return .json(["name": .string(request.principal.name), "role": .string(request.principal.role.rawValue),
                              "credential": .string(credential), "auth_required": .bool(gate.needsCredentials)])
            }),
            Route("GET", "/api/keys", access: .admin) { _, _ in
                let now = gate.clock()
                var response = HTTPResponse.json(.array(try store.apiKeys().map { .object($0.json(at: now)) }))
                response.addHeader("Cache-Control", "no-store")
                return response
            },
            Route("POST", "/api/keys", access: .admin) { request, _ in try create(request) },
            Route("DELETE", "/api/keys/{name}", access: .admin) { request, parameters in
                let name = parameters.names.first ?? ""
                let now = gate.clock()
                let revoked = try store.revokeAPIKeys(named: name, at: now,
                                                      audit: request.auditEntry("key.revoke", detail: ["name": .string(name)], at: now))
                guard revoked > 0 else { throw HTTPError.notFound("no active key named \(name)") }
                return .json(["success": true, "revoked": .integer(Int64(revoked))])
            },
            Route("GET", "/api/audit", access: .admin) { request, _ in try auditPage(request) },
            Route("GET", "/api/messages/{id}/history", access: .read) { request, parameters in
                guard try store.message(id: parameters.id) != nil else { throw HTTPError.notFound("Message not found") }
                let entries = try store.auditEntries(AuditQuery(limit: AccessRoutes.maximumAuditLimit, messageID: parameters.id))
                return .json(.array(entries.reversed().map { $0.json(withAddress: request.isAdmin) }))
            },
        ]
    }

    /// `POST /api/keys {name, role, expires_in?}` → 201 with the key, shown this once.
    private func create(_ request: HTTPRequest) throws -> HTTPResponse {
        let fields = try RequestFields(request)
        let name = try fields.name("name", maximumLength: 64)
        if let problem = NewAPIKey.nameProblem(name) { throw HTTPError.badRequest(problem) }
        guard let role = fields.rawString("role").flatMap(Role.init(rawValue:)) else {
            throw HTTPError.badRequest("role must be read, agent or admin")
        }
        var validity: Double?
        if fields.has("expires_in") {
            guard let text = fields.rawString("expires_in"), let seconds = NewAPIKey.duration(text) else {
                throw HTTPError.badRequest("expires_in must be a whole number of days, hours, minutes or seconds, like 90d, 12h, 30m or 45s (at most 10 years)")
            }
            validity = seconds
        }
        let now = gate.clock()
        let secret = APIKeySecret()
        let key = NewAPIKey(secret: secret, name: name, role: role, createdAt: now, createdBy: request.principal.name, validity: validity)
        switch try store.createAPIKey(key, audit: request.auditEntry("key.create", detail: key.auditDetail, at: now)) {
        case .nameTaken:
            throw HTTPError.conflict("an active key is named \(name) already: revoke it first (DELETE /api/keys/\(name)) or pick another name")
        case .created(let record):
            gate.keysChanged()
            var object = record.json(at: now)
            object["key"] = .string(secret.key)
            var response = HTTPResponse.json(.object(object), status: 201)
            response.addHeader("Cache-Control", "no-store")
            return response
        }
    }

    /// `GET /api/audit`: newest first, `limit` at a time, `before` an id (the next page's Link has it), filtered by
    /// `actor`, `action` or `message_id`.
    private func auditPage(_ request: HTTPRequest) throws -> HTTPResponse {
        var query = AuditQuery(limit: AccessRoutes.defaultAuditLimit)
        if let text = request.queryValue("limit") {
            guard let limit = RequestFields.plainPositiveInteger(text), limit <= AccessRoutes.maximumAuditLimit else {
                throw HTTPError.badRequest("limit must be an integer from 1 to \(AccessRoutes.maximumAuditLimit)")
            }
            query.limit = Int(limit)
        }
        if let text = request.queryValue("before") {
            guard let before = RequestFields.plainPositiveInteger(text) else { throw HTTPError.badRequest("before must be a positive integer") }
            query.before = before
        }
        if let text = request.queryValue("message_id") {
            guard let id = RequestFields.plainPositiveInteger(text) else { throw HTTPError.badRequest("message_id must be a positive integer") }
            query.messageID = id
        }
        query.actor = request.queryValue("actor").flatMap { $0.isEmpty ? nil : $0 }
        query.action = request.queryValue("action").flatMap { $0.isEmpty ? nil : $0 }
        for (name, value) in [("actor", query.actor), ("action", query.action)] {
            if let value, value.utf8.count > 200 || value.unicodeScalars.contains(where: { $0.value == 0 }) {
                throw HTTPError.badRequest("\(name) must be at most 200 bytes, without NUL")
            }
        }
        let entries = try store.auditEntries(query)
        var response = HTTPResponse.json(.array(entries.map { $0.json(withAddress: true) }))
        if entries.count == query.limit, let last = entries.last {
            response.addNextPageLink(for: request, parameter: "before", value: String(last.id))
        }
        return response
    }
}
