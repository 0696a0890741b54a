import Support

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
    /// Each concept's place when their names are sorted by bytes (equal names share one): the order of the keys
    /// of `concepts` and `set_aside` in the JSON text.
    let conceptRank: FrozenArray<Int32>
    /// Each intent's level and each modifier's step as JSON numbers (as the JSON writer writes them).
    let levelTexts: LuaPlanConstants, stepTexts: LuaPlanConstants
    /// Each constant as a JSON string literal (as the JSON writer writes it), and whether it may be a key the JSON
    /// writer writes itself (plain ASCII, nothing to escape).
    let literals: LuaPlanConstants, isPlainKey: FrozenArray<Bool>

    init(conceptNames: [String], intentNames: [String], modifierNames: [String], levels: [LuaNumber], steps: [LuaNumber]) {
        func json(_ number: LuaNumber) -> String {
            switch number {
            case .integer(let integer): String(integer)
            case .float(let float): JSONValue.format(number: float)
            }
        }
        levelTexts = LuaPlanConstants(levels.map(json))
        stepTexts = LuaPlanConstants(steps.map(json))
        let keys = ["intent", "name", "level", "concepts", "set_aside", "modifiers", "add", "fired"]
        (intentKey, nameKey, levelKey, conceptsKey, setAsideKey, modifiersKey, addKey, firedKey) = (0, 1, 2, 3, 4, 5, 6, 7)
        conceptCount = Int32(conceptNames.count)
        intentCount = Int32(intentNames.count)
        modifierCount = Int32(modifierNames.count)
        conceptBase = Int32(keys.count)
        intentBase = conceptBase + 2 * conceptCount
        modifierBase = intentBase + 2 * intentCount
        let sortedNames = Array(Set(conceptNames.map { Array($0.utf8) })).sorted { $0.lexicographicallyPrecedes($1) }
        let rankOfName = Dictionary(uniqueKeysWithValues: sortedNames.enumerated().map { ($1, Int32($0)) })
        conceptRank = FrozenArray(conceptNames.map { rankOfName[Array($0.utf8)] ?? 0 })
        let texts = keys + conceptNames + conceptNames.map { "concept " + $0 } + intentNames
            + intentNames.map { "intent " + $0 } + modifierNames + modifierNames.map { "modifier " + $0 }
        constants = LuaPlanConstants(texts)
        literals = LuaPlanConstants(texts.map { JSONValue.string($0).jsonText })
        isPlainKey = FrozenArray(texts.map { $0.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 && $0 != 0x22 && $0 != 0x5C } })
    }

    func conceptName(_ concept: Int) -> Int32 { conceptBase + Int32(concept) }
    func conceptLabel(_ concept: Int) -> Int32 { conceptBase + conceptCount + Int32(concept) }
    func intentName(_ intent: Int) -> Int32 { intentBase + Int32(intent) }
    func intentLabel(_ intent: Int) -> Int32 { intentBase + intentCount + Int32(intent) }
    func modifierName(_ modifier: Int) -> Int32 { modifierBase + Int32(modifier) }
    func modifierLabel(_ modifier: Int) -> Int32 { modifierBase + modifierCount + Int32(modifier) }
}
