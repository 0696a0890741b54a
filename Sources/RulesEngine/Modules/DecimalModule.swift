import CLuaHost

/// The `decimal` module: `decimal.round(x, digits)`, Python's `round()` (nearest decimal of the exact binary
/// value, ties to even), so blended scores round exactly as the seed's do. It runs in C
/// (CLuaHost/text.c: `uiq_round_decimal`), being on every message's path.
enum DecimalModule {
    static let module = HostModule(name: "decimal", natives: NativeFunctions(uiq_decimal_natives), lua: "return { round = native.round }")
}
