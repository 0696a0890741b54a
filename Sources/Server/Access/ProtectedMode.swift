/// Whether the server may start where it is asked to listen: on a network address with `AUTH=auto` (the default)
/// it needs an active API key in the store or an `ADMIN_TOKEN` of at least 16 characters, the way Redis' protected
/// mode refuses to serve the network without a password; `--no-auth` (`AUTH=off`) is the operator's explicit choice
/// to serve it open.
enum ProtectedMode {
    /// The shortest `ADMIN_TOKEN` that counts as access control on a network address.
    static let minimumAdminTokenLength = 16

    /// nil when the server may start, else what to tell the operator.
    static func refusal(host: String, port: UInt16, mode: AuthMode, boundToLoopback: Bool, adminToken: String?,
                        hasActiveKeys: Bool) -> String? {
        let strongToken = (adminToken?.count ?? 0) >= minimumAdminTokenLength
        guard mode == .auto, !boundToLoopback, !strongToken, !hasActiveKeys else { return nil }
        if let adminToken, !adminToken.isEmpty {
            return "refusing to serve \(host):\(port): ADMIN_TOKEN is the only access control and it is shorter than "
                + "\(minimumAdminTokenLength) characters; set a long random one (e.g. openssl rand -hex 32), create a key "
                + "(urgencyiq keys create --name NAME --role admin), or pass --no-auth to serve it open on purpose."
        }
        return """
            refusing to serve \(host):\(port) without access control: it is not a loopback address, the store has no active API key \
            and ADMIN_TOKEN is not set, so anyone who reaches the port could read and change every ticket. Do one of:
              - create a key first:   urgencyiq keys create --name NAME --role admin   (same --db or DATABASE_URL), then start again;
              - set ADMIN_TOKEN=<a long random secret> and create keys with POST /api/keys;
              - listen on loopback only: --host 127.0.0.1;
              - or serve it open on purpose: --no-auth (AUTH=off).
            """
    }
}
