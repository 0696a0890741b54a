/// Whether the server may start where it is asked to listen: on a network address with `AUTH=auto` (the default)
/// it needs an active API key in the store or `ADMIN_TOKEN`, the way Redis' protected mode refuses to serve the
/// network without a password; `--no-auth` (`AUTH=off`) is the operator's explicit choice to serve it open.
enum ProtectedMode {
    /// nil when the server may start, else what to tell the operator.
    static func refusal(host: String, port: UInt16, mode: AuthMode, boundToLoopback: Bool, hasAdminToken: Bool,
                        hasActiveKeys: Bool) -> String? {
        guard mode == .auto, !boundToLoopback, !hasAdminToken, !hasActiveKeys else { return nil }
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
