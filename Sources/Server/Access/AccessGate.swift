import Foundation
import Support

/// Decides who a request comes from and whether they may call its endpoint. Credentials are
/// `Authorization: Bearer KEY`: a stored API key (looked up by its SHA-256 on every request, so a key revoked
/// or expired anywhere in the fleet is refused at once) or `ADMIN_TOKEN`. Without credentials a request is let
/// in only where the server needs none (`needsCredentials` false): then as `loopback` (an admin when no
/// `ADMIN_TOKEN` is set, as before keys existed) or, with `--no-auth` on a network address, `anonymous` (an agent).
public final class AccessGate: @unchecked Sendable {
    /// What `authenticate` found without the store.
    public enum Authentication: Sendable {
        case principal(Principal)
        /// A key to look up (its SHA-256): `lookUp` does.
        case storedKey(hash: String)
        case denied(HTTPError)
    }

    private let store: any AccessStore
    public let mode: AuthMode
    private let adminToken: [UInt8]?
    private let boundToLoopback: Bool
    /// The time keys are created and judged by (tests move it).
    public let clock: @Sendable () -> Timestamp
    /// Whether keys are in use (only followed in `auto` mode on loopback: elsewhere the mode decides).
    private let keysInUse: KeysInUse?

    public init(store: any AccessStore, mode: AuthMode, adminToken: String?, boundToLoopback: Bool,
                clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() }) {
        self.store = store
        self.mode = mode
        self.adminToken = adminToken.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.boundToLoopback = boundToLoopback
        self.clock = clock
        keysInUse = mode == .auto && boundToLoopback ? KeysInUse(store: store) : nil
    }

    func start() { keysInUse?.start() }
    func stop() { keysInUse?.stop() }

    /// Reads again whether keys are in use (after a key is created here).
    public func keysChanged() { keysInUse?.refresh() }

    /// Whether a request without credentials is turned away (401) from every endpoint but the open ones.
    public var needsCredentials: Bool {
        switch mode {
        case .required: true
        case .off: false
        case .auto: keysInUse?.value ?? true
        }
    }

    /// Who sent `request`, as far as that is known without the store. Where no credentials are needed, an
    /// `Authorization` header that is not `Bearer` (a proxy's Basic credentials) is ignored, as before keys existed.
    public func authenticate(_ request: HTTPRequest) -> Authentication {
        guard let given = request.bearerToken else {
            guard needsCredentials else {
                return .principal(request.isFromLoopback
                    ? Principal(name: Principal.loopbackName, role: adminToken == nil ? .admin : .agent, credential: .none)
                    : Principal(name: Principal.anonymousName, role: .agent, credential: .none))
            }
            return .denied(HTTPError(401, request.header("authorization") == nil ? "an API key is required: send Authorization: Bearer KEY"
                                                                                 : "the Authorization header must be Bearer KEY",
                                     headers: AccessGate.challenge))
        }
        if let adminToken, ConstantTime.equal(Array(given.utf8), adminToken) {
            return .principal(Principal(name: Principal.adminTokenName, role: .admin, credential: .adminToken))
        }
        guard given.hasPrefix(APIKeySecret.prefix) else {
            return .denied(HTTPError(401, adminToken == nil ? "unknown API key" : "unknown API key or wrong admin token",
                                     headers: AccessGate.challenge))
        }
        return .storedKey(hash: APIKeySecret.hash(given))
    }

    /// Whether `lookUp` may wait on the network (PostgreSQL): then it runs on a worker thread.
    public var lookupMayBlock: Bool { store.apiKeyLookupMayBlock }

    /// The holder of the key with this hash, or why it is refused (a store read). The answers name neither the
    /// key nor its holder: whoever sends a leaked, revoked key learns nothing from them.
    public func lookUp(hash: String) -> Result<Principal, HTTPError> {
        let record: APIKeyRecord?
        do {
            record = try store.apiKey(hash: hash)
        } catch {
            OperationsLog.shared.report("store_error", "cannot look up an API key: \(error)")
            return .failure(HTTPError.busy("API keys cannot be checked right now: try again shortly"))
        }
        guard let record, ConstantTime.equal(Array(record.hash.utf8), Array(hash.utf8)) else {
            return .failure(HTTPError(401, "unknown API key", headers: AccessGate.challenge))
        }
        if record.revokedAt != nil {
            return .failure(HTTPError(401, "this API key was revoked", headers: AccessGate.challenge))
        }
        guard record.isActive(at: clock()) else {
            return .failure(HTTPError(401, "this API key has expired", headers: AccessGate.challenge))
        }
        return .success(Principal(name: record.name, role: record.role, credential: .key(id: record.id, hash: record.hash)))
    }

    /// Whether the key with this hash still lets its holder in; nil when the store cannot tell now.
    public func isKeyActive(hash: String) -> Bool? {
        switch lookUp(hash: hash) {
        case .success: true
        case .failure(let refusal): refusal.status == 401 ? false : nil
        }
    }

    /// nil when `principal` may call an endpoint that needs `required` with `request`, else the answer: 403 for a
    /// key (or token) without the role, 401 for a caller without credentials (a key would help), the seed's 403 for
    /// admin endpoints from a network address without `ADMIN_TOKEN`, and 403 for an admin endpoint called without
    /// credentials from another site's page.
    public func authorize(_ principal: Principal, for required: Role, _ request: HTTPRequest) -> HTTPError? {
        if principal.role.allows(required) {
            return required == .admin && principal.credential == .none && AccessGate.isCrossSite(request)
                ? HTTPError(403, "admin endpoints cannot be called without credentials from another site's page") : nil
        }
        if principal.credential == .none {
            if required == .admin, principal.name == Principal.anonymousName, adminToken == nil {
                return HTTPError(403, "admin endpoints answer loopback clients only unless ADMIN_TOKEN is set or keys are used")
            }
            return HTTPError(401, "this endpoint needs an API key with the \(required.rawValue) role (Authorization: Bearer KEY)",
                             headers: AccessGate.challenge)
        }
        return HTTPError(403, "this endpoint needs the \(required.rawValue) role; \(principal.name) has \(principal.role.rawValue)")
    }

    /// Whether a browser sent `request` from a page of another site: its `Origin` is not this server. Without
    /// credentials (an open loopback server, where the caller is an admin) such a page must not change the rules,
    /// the keys or the settings, whatever CORS allows: CORS protects what a page reads, not what it sends.
    static func isCrossSite(_ request: HTTPRequest) -> Bool {
        guard let origin = request.header("origin") else { return false }
        let host = request.header("host") ?? ""
        return origin != "http://" + host && origin != "https://" + host
    }

    private static let challenge = [("WWW-Authenticate", "Bearer")]
}
