extension LexiconModule {
    /// `lex:breakdown`'s table as a deferred table (`DeferredTable`): the JSON text the table the plan builds would
    /// be written as, member for member (keys sorted, a later concept of the same name winning, empty tables as
    /// `[]`). nil when the text would not be exact (a name that is not plain ASCII, words that are not UTF-8): then
    /// the table is built.
    static func describeBreakdown(into table: DeferredTable, strings: BreakdownStrings, chosen: Int?, stated: [Int],
                                  applying: [Int], mentions: [HostEnvironment.Mention],
                                  words: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let literals = strings.literals
        /// `{"<key>":<value>,"name":<name>}`: the intent, or a modifier.
        func entry(_ key: StaticString, _ value: UnsafeRawBufferPointer, name: Int32) {
            table.countTable()
            table.put("{")
            table.key(key)
            table.literal(value)
            table.put(",")
            table.key("name")
            table.literal(literals.text(name))
            table.put("}")
        }
        table.reset(members: 5)
        table.member("concepts")
        describeConcepts(into: table, strings: strings, mentions: mentions, words: words, active: true)
        table.member("fired")
        table.countTable()
        var first = true
        func label(_ index: Int32) {
            table.put(first ? UInt8(ascii: "[") : UInt8(ascii: ","))
            first = false
            table.literal(literals.text(index))
        }
        for intent in stated { label(strings.intentLabel(intent)) }
        for mention in mentions where mention.state == .active { label(strings.conceptLabel(mention.concept)) }
        for modifier in applying { label(strings.modifierLabel(modifier)) }
        table.put(first ? "[]" : "]")
        if let chosen {
            table.member("intent")
            entry("level", strings.levelTexts.text(Int32(chosen)), name: strings.intentName(chosen))
        }
        table.member("modifiers")
        table.countTable()
        for (position, modifier) in applying.enumerated() {
            table.put(position == 0 ? "[" : ",")
            entry("add", strings.stepTexts.text(Int32(modifier)), name: strings.modifierName(modifier))
        }
        table.put(applying.isEmpty ? "[]" : "]")
        table.member("set_aside")
        describeConcepts(into: table, strings: strings, mentions: mentions, words: words, active: false)
        return table.finish(depth: 2)
    }

    /// `concepts` (the active mentions: name → words) or `set_aside` (the others: name → "negated: words", …) as
    /// a JSON object, keys in byte order, the last mention of a name winning as in the table.
    private static func describeConcepts(into table: DeferredTable, strings: BreakdownStrings,
                                         mentions: [HostEnvironment.Mention],
                                         words: UnsafeRawBufferPointer, active: Bool) {
        table.countTable()
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(mentions.count, 1)) { chosen in
            var count = 0
            for (index, mention) in mentions.enumerated() where (mention.state == .active) == active {
                chosen[count] = index
                count += 1
            }
            guard count > 0 else { return table.put("[]") }
            let rank = strings.conceptRank.pointer
            // Insertion sort by name, stable: a few mentions at most.
            for i in 1..<count {
                let moving = chosen[i]
                var j = i
                while j > 0, rank[mentions[chosen[j - 1]].concept] > rank[mentions[moving].concept] {
                    chosen[j] = chosen[j - 1]
                    j -= 1
                }
                chosen[j] = moving
            }
            var first = true
            for position in 0..<count {
                let mention = mentions[chosen[position]]
                if position + 1 < count, rank[mentions[chosen[position + 1]].concept] == rank[mention.concept] {
                    continue  // a later mention of the same name replaces it
                }
                table.put(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
                first = false
                let name = strings.conceptName(mention.concept)
                table.key(literal: strings.literals.text(name), isPlain: strings.isPlainKey.pointer[Int(name)])
                let text = UnsafeRawBufferPointer(rebasing: words[mention.words])
                if active { table.string(text) } else { table.string(text, after: setAsideLabel(mention.state)) }
            }
            table.put("}")
        }
    }
}
