/// `require`'s back end: the source of a rule module, looked up in the loaded rule set only, so rules can
/// load Lua text files from their own directory and nothing else.
enum RulesSourceModule {
    static let module = HostModule(name: "rules", functions: [("source", source)])

    /// source(name) → source, path | nil, message. `lib.tiers` resolves to `lib/tiers.lua`.
    private static let source: HostFunction = { raw in
        let call = HostCall(raw!)
        let environment = call.context(as: HostEnvironment.self)
        guard let name = call.arguments.string(at: 1) else { return call.fail("require: module name must be a string") }
        let path = RuleSet.path(ofModule: name)
        guard let file = environment.ruleSet.files[path] else {
            call.returnNil()
            call.returnString(environment.arena.copy("module '\(name)' not found: no \(path) in the rules directory"))
            return 0
        }
        call.returnString(file.sourceBytes)
        call.returnString(environment.arena.copy(path))
        return 0
    }
}
