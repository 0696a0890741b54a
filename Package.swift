// swift-tools-version:6.0
// UrgencyIQ: support messages in, prioritized tickets out. Urgency rules live in hot-reloadable Lua.
// No Swift package dependencies: Foundation plus Debian's C libraries, one thin module per library.
import PackageDescription

let package = Package(
    name: "UrgencyIQ",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "urgencyiq", targets: ["urgencyiq"]),
        .library(name: "RulesEngine", targets: ["RulesEngine"]),
        .library(name: "Server", targets: ["Server"]),
    ],
    targets: [
        // Lua 5.4 (liblua5.4-dev) plus static inline wrappers for the API macros Swift cannot import.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        // PCRE2, 8-bit code units (libpcre2-dev).
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // Vectorscan (libvectorscan-dev; Hyperscan's portable fork, as in Suricata): one pass over a message finds
        // which of hundreds of regex modifiers can match, and PCRE2 confirms only those.
        .systemLibrary(name: "CHyperscan", pkgConfig: "libhs", providers: [.apt(["libvectorscan-dev"])]),
        // libmicrohttpd: the embedded HTTP server (a proven one instead of a hand-written one).
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd", providers: [.apt(["libmicrohttpd-dev"])]),
        // libcurl (libcurl4-openssl-dev): the LLM call, with TLS verification and connection reuse.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // libpq (libpq-dev): the PostgreSQL store, for fleets of servers on one database.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // glibc's allocator controls (malloc.h): few arenas, freed memory handed back.
        .systemLibrary(name: "CMalloc"),
        // SQLite 3: the embedded default store.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The Lua glue that must stay in C: allocator with a cap, instruction-budget hook, the trampoline
        // that lets Swift host functions raise Lua errors without longjmp crossing Swift frames.
        .target(name: "CLuaHost", dependencies: ["CLua", "CPCRE2", "CHyperscan"]),
        // What is not the rules engine and not the server: JSON, CSV, SHA-256, timestamps, deadlines, parallel
        // map, thread names. Foundation only.
        .target(name: "Support"),
        .target(name: "RulesEngine", dependencies: ["Support", "CLua", "CLuaHost", "CPCRE2"]),
        .target(name: "Server", dependencies: ["Support", "RulesEngine", "CMicroHTTPD", "CSQLite", "CCurl", "CLibPQ", "CMalloc"],
                resources: [.copy("Resources/openapi.json"), .copy("Resources/console")]),
        .executableTarget(name: "urgencyiq", dependencies: ["Support", "RulesEngine", "Server"]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "RulesEngineTests", dependencies: ["Support", "RulesEngine", "TestSupport"]),
        // Shared by the test targets: a raw HTTP/1.1 client over loopback sockets.
        .target(name: "TestSupport", dependencies: ["Support", "RulesEngine"], path: "Tests/TestSupport"),
        .testTarget(name: "ServerTests", dependencies: ["Support", "Server", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["Support", "urgencyiq", "TestSupport"]),
    ]
)
