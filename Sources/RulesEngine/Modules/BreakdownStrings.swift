/// The strings a lexicon's breakdown (`lex:breakdown`) names on every message: its keys, every concept, intent
/// and modifier name, and the `fired` labels ("concept fraud", "intent refund", …), numbered once per compiled
/// lexicon so each breakdown refers to them (`LuaTablePlan.constant`) instead of hashing them into Lua again.
final class BreakdownStrings: Sendable {
    let constants: LuaPlanConstants
    /// The keys of the breakdown and its parts.
    let intentKey: Int32, nameKey: Int32, levelKey: Int32, conceptsKey: Int32, setAsideKey: Int32, modifiersKey: Int32,
        addKey: Int32, firedKey: Int32
    private let conceptBase: Int32, intentBase: Int32, modifierBase: Int32
    private let conceptCount: Int32, intentCount: Int32, modifierCount: Int32

    init(conceptNames: [String], intentNames: [String], modifierNames: [String]) {
        let keys = ["intent", "name", "level", "concepts", "set_aside", "modifiers", "add", "fired"]
        (intentKey, nameKey, levelKey, conceptsKey, setAsideKey, modifiersKey, addKey, firedKey) = (0, 1, 2, 3, 4, 5, 6, 7)
        conceptCount = Int32(conceptNames.count)
        intentCount = Int32(intentNames.count)
        modifierCount = Int32(modifierNames.count)
        conceptBase = Int32(keys.count)
        intentBase = conceptBase + 2 * conceptCount
        modifierBase = intentBase + 2 * intentCount
        constants = LuaPlanConstants(keys + conceptNames + conceptNames.map { "concept " + $0 } + intentNames
                                     + intentNames.map { "intent " + $0 } + modifierNames + modifierNames.map { "modifier " + $0 })
    }

    func conceptName(_ concept: Int) -> Int32 { conceptBase + Int32(concept) }
    func conceptLabel(_ concept: Int) -> Int32 { conceptBase + conceptCount + Int32(concept) }
    func intentName(_ intent: Int) -> Int32 { intentBase + Int32(intent) }
    func intentLabel(_ intent: Int) -> Int32 { intentBase + intentCount + Int32(intent) }
    func modifierName(_ modifier: Int) -> Int32 { modifierBase + Int32(modifier) }
    func modifierLabel(_ modifier: Int) -> Int32 { modifierBase + modifierCount + Int32(modifier) }
}
