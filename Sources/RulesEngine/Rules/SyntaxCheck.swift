/// Compiles every file of a rule set without running any, so that a file that does not compile refuses the
/// whole set even when nothing requires it (a scratch file left in the rules directory is a mistake to catch
/// before it goes live, not when someone first requires it).
enum SyntaxCheck {
    /// Throws the first file (in path order) that does not compile, at its line.
    static func run(_ ruleSet: RuleSet, limits: EngineLimits) throws(RulesError) {
        let state: LuaState
        do {
            state = try LuaState(memoryLimit: limits.memoryPerState, budget: limits.sharedMemory, regexMatchLimit: limits.regexMatchLimit,
                                 regexDepthLimit: limits.regexDepthLimit)
        } catch {
            throw RulesError(loading: error)
        }
        for path in ruleSet.files.keys.sorted() where path.hasSuffix(".lua") {
            do {
                try state.compile(ruleSet.files[path]!.sourceBytes, chunkName: "@" + path)
            } catch {
                var refused = RulesError(loading: error)
                if refused.kind == .syntax, !refused.message.hasPrefix("syntax error") {
                    refused.message = "syntax error: " + refused.message
                }
                throw refused
            }
        }
    }
}
