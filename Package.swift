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
    ],
    targets: [
        // Lua 5.4 (liblua5.4-dev) plus static inline wrappers for the API macros Swift cannot import.
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        // PCRE2, 8-bit code units (libpcre2-dev).
        .systemLibrary(name: "CPCRE2", pkgConfig: "libpcre2-8", providers: [.apt(["libpcre2-dev"])]),
        // The Lua glue that must stay in C: allocator with a cap, instruction-budget hook, the trampoline
        // that lets Swift host functions raise Lua errors without longjmp crossing Swift frames.
        .target(name: "CLuaHost", dependencies: ["CLua", "CPCRE2"]),
        .target(name: "RulesEngine", dependencies: ["CLua", "CLuaHost", "CPCRE2"]),
        .executableTarget(name: "urgencyiq", dependencies: ["RulesEngine"]),
        .testTarget(name: "RulesEngineTests", dependencies: ["RulesEngine"]),
        .testTarget(name: "CLITests", dependencies: ["urgencyiq"]),
    ]
)
