/// Whether the API asks for keys (`AUTH`, `--no-auth`).
public enum AuthMode: String, Sendable {
    /// Keys are needed on a network address (the server refuses to start there without a key or `ADMIN_TOKEN`),
    /// and on loopback once any key is active; loopback without keys serves like the seed.
    case auto
    /// Keys everywhere, loopback included.
    case required
    /// No keys needed anywhere (`--no-auth`): every endpoint answers whoever reaches the port, admin endpoints
    /// loopback clients only (or `ADMIN_TOKEN`). Keys sent are still checked and name their holder.
    case off
}
