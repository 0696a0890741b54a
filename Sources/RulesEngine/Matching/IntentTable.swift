import CLuaHost
import Support

/// A rule profile's intents, decided in the host: an intent counts when every concept of one of its `when`
/// entries is active and none of its `unless` concepts is; the most urgent counting intent wins (the first
/// declared among equals). A `weak` intent (thanks, greetings) wins only when no other intent counts and no
/// concept outside the `minor` ones is active: "thanks, but my refund has not come" is about the refund.
///
/// The rules declare intents as data (`lexicon.compile{..., intents = {...}, minor = {...}}`); deciding them
/// here keeps a message's whole keyword reading inside one host call.
final class IntentTable: @unchecked Sendable {
    /// Concept masks, one bit per concept (concept i is bit i % 64 of word i / 64).
    struct Concepts: Equatable {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        static func == (a: Concepts, b: Concepts) -> Bool { a.words == b.words }

        mutating func insert(_ index: Int) {
            let bit = UInt64(1) << UInt64(index % 64)
            switch index / 64 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }

        @inline(__always)
        func contains(all other: Concepts) -> Bool {
            words.0 & other.words.0 == other.words.0 && words.1 & other.words.1 == other.words.1
                && words.2 & other.words.2 == other.words.2 && words.3 & other.words.3 == other.words.3
        }

        @inline(__always)
        func intersects(_ other: Concepts) -> Bool {
            words.0 & other.words.0 != 0 || words.1 & other.words.1 != 0 || words.2 & other.words.2 != 0
                || words.3 & other.words.3 != 0
        }

        @inline(__always)
        func subtracting(_ other: Concepts) -> Concepts {
            var result = self
            result.words = (words.0 & ~other.words.0, words.1 & ~other.words.1, words.2 & ~other.words.2, words.3 & ~other.words.3)
            return result
        }

        var isEmpty: Bool { self == Concepts() }
    }

    /// One intent, as the decision reads it (plain values only: read on every message).
    struct Intent {
        var level: Double
        var weak: Bool
        /// Where the intent's `when` alternatives are in `alternatives`.
        var first: Int
        var count: Int
        var unless: Concepts
    }

    /// The intents' names, in declaration order.
    let names: [String]
    /// Each intent's level and each modifier's step as the rules wrote them (an integer stays one in a breakdown).
    let levels: [LuaNumber], steps: [LuaNumber]
    private let intents: FrozenArray<Intent>
    private let alternatives: FrozenArray<Concepts>
    /// The concepts weak intents may live beside.
    private let minor: Concepts
    /// The intents from the most urgent down, the first declared first among equals: the order `choose` tries them.
    private let order: FrozenArray<Int32>
    /// The modifiers (`level` holds the step they add), their names, and how far they may move a score together.
    private let modifiers: FrozenArray<Intent>
    let modifierNames: [String]
    let maximumShift: Double
    /// The score of a message: the winning intent's level (`default_level` when none wins), the modifiers' step,
    /// within `floor`…`cap`, rounded like Python to `decimals` (when given).
    private let defaultLevel: Double, floor: Double, cap: Double
    private let decimals: Int32?

    /// The table `spec` describes (its `intents`, `minor`, `modifiers` and `max_shift`), concept names resolved
    /// through `concepts`.
    init(_ spec: JSONValue, concepts: [String: Int]) throws(Lexicon.BuildError) {
        func conceptSet(_ value: JSONValue?, _ owner: String) throws(Lexicon.BuildError) -> Concepts {
            var set = Concepts()
            let list: [JSONValue]
            switch value {
            case .string(let name)?: list = [.string(name)]
            case .array(let items)?: list = items
            case .object(let members)? where members.isEmpty: list = []
            case nil: list = []
            default: throw Lexicon.BuildError(description: "\(owner): expected a concept name or a list of them")
            }
            for item in list {
                guard case .string(let name) = item else { throw Lexicon.BuildError(description: "\(owner): concept names must be strings") }
                guard let index = concepts[name] else { throw Lexicon.BuildError(description: "\(owner): unknown concept \(name)") }
                set.insert(index)
            }
            return set
        }
        var alternatives: [Concepts] = []
        /// The entries of a list of intents (or modifiers, whose `add` is read as the level).
        func entries(_ key: String, kind: String, value: String) throws(Lexicon.BuildError)
            -> (entries: [Intent], names: [String], values: [LuaNumber]) {
            let list: [JSONValue]
            switch spec[key] {
            case .array(let items)?: list = items
            case .object(let members)? where members.isEmpty: list = []
            case nil where kind == "modifier": list = []
            default: throw Lexicon.BuildError(description: "\(key) must be a list")
            }
            var entries: [Intent] = [], names: [String] = [], values: [LuaNumber] = []
            for (number, item) in list.enumerated() {
                guard case .string(let name)? = item["name"] else { throw Lexicon.BuildError(description: "\(kind) \(number + 1) needs a name") }
                let owner = "\(kind) \"\(name)\""
                guard let level = item[value]?.doubleValue else { throw Lexicon.BuildError(description: "\(owner): \(value) must be a number") }
                guard case .array(let when)? = item["when"], !when.isEmpty else {
                    throw Lexicon.BuildError(description: "\(owner): when must list concepts")
                }
                let first = alternatives.count
                for entry in when {
                    let set = try conceptSet(entry, owner)
                    guard !set.isEmpty else { throw Lexicon.BuildError(description: "\(owner): an empty when entry") }
                    alternatives.append(set)
                }
                names.append(name)
                if case .integer(let integer)? = item[value] { values.append(.integer(integer)) } else { values.append(.float(level)) }
                entries.append(Intent(level: level, weak: item["weak"]?.boolValue ?? false, first: first,
                                      count: when.count, unless: try conceptSet(item["unless"], owner)))
            }
            return (entries, names, values)
        }
        let (intents, intentNames, levels) = try entries("intents", kind: "intent", value: "level")
        let (modifiers, modifierNames, steps) = try entries("modifiers", kind: "modifier", value: "add")
        names = intentNames
        self.levels = levels
        self.steps = steps
        self.intents = FrozenArray(intents)
        self.modifiers = FrozenArray(modifiers)
        self.modifierNames = modifierNames
        maximumShift = spec["max_shift"]?.doubleValue ?? .infinity
        defaultLevel = spec["default_level"]?.doubleValue ?? 2
        floor = spec["floor"]?.doubleValue ?? -.infinity
        cap = spec["cap"]?.doubleValue ?? .infinity
        decimals = spec["decimals"]?.doubleValue.map { Int32(max(0, min(15, $0))) }
        self.alternatives = FrozenArray(alternatives)
        minor = try conceptSet(spec["minor"], "minor")
        order = FrozenArray(intents.indices.sorted { (-intents[$0].level, $0) < (-intents[$1].level, $1) }.map(Int32.init))
    }

    /// Whether intent `index` counts for these active concepts.
    @inline(__always)
    func counts(_ index: Int, _ active: Concepts) -> Bool { holds(intents.pointer[index], active) }

    /// Whether an intent's or a modifier's `when` holds and none of its `unless` concepts is active.
    @inline(__always)
    private func holds(_ intent: Intent, _ active: Concepts) -> Bool {
        if active.intersects(intent.unless) { return false }
        for k in intent.first..<intent.first + intent.count where active.contains(all: alternatives.pointer[k]) { return true }
        return false
    }

    /// How far the modifiers that hold move a score: their steps added up, within ±`maximumShift`.
    func shift(_ active: Concepts) -> Double {
        var total = 0.0
        let modifiers = self.modifiers.pointer
        for index in 0..<self.modifiers.count where holds(modifiers[index], active) { total += modifiers[index].level }
        return min(maximumShift, max(-maximumShift, total))
    }

    /// The score of a message with these active concepts, and the intent that won (nil: none).
    func rate(_ active: Concepts) -> (score: Double, chosen: Int?) {
        let chosen = choose(active)
        let score = unroundedScore(active, chosen: chosen)
        return (decimals.map { uiq_round_decimal(score, $0) } ?? score, chosen)
    }

    /// The score before rounding: the chosen intent's level (`default_level` when nil), the modifiers' step,
    /// within `floor`…`cap`.
    func unroundedScore(_ active: Concepts, chosen: Int?) -> Double {
        let level = chosen.map { intents.pointer[$0].level } ?? defaultLevel
        return min(cap, max(floor, level + shift(active)))
    }

    /// The modifiers that hold for these active concepts, in declaration order.
    func applying(_ active: Concepts) -> [Int] {
        var list: [Int] = []
        applying(active, into: &list)
        return list
    }

    /// `applying(active)` into `list` (emptied first, its capacity kept).
    func applying(_ active: Concepts, into list: inout [Int]) {
        list.removeAll(keepingCapacity: true)
        for modifier in 0..<modifiers.count where holds(modifiers.pointer[modifier], active) { list.append(modifier) }
    }

    /// Every intent that counts for these active concepts, in declaration order.
    func counting(_ active: Concepts) -> [Int] {
        var list: [Int] = []
        counting(active, into: &list)
        return list
    }

    /// `counting(active)` into `list` (emptied first, its capacity kept).
    func counting(_ active: Concepts, into list: inout [Int]) {
        list.removeAll(keepingCapacity: true)
        for intent in 0..<intents.count where counts(intent, active) { list.append(intent) }
    }

    /// The winning intent for these active concepts, or nil when none counts.
    func choose(_ active: Concepts) -> Int? {
        let intents = self.intents.pointer, order = self.order.pointer
        var bestWeak = -1
        for k in 0..<self.order.count {
            let index = Int(order[k])
            guard counts(index, active) else { continue }
            if !intents[index].weak { return index }  // the most urgent that counts: nothing later can beat it
            if bestWeak < 0 { bestWeak = index }
        }
        return bestWeak >= 0 && active.subtracting(minor).isEmpty ? bestWeak : nil
    }

}
