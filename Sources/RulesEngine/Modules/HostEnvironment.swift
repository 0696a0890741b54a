/// What the host functions of one Lua state reach through their context pointer: the rule set (its files
/// and shared compiled matchers), the log sink and the limits.
///
/// Owned by its `RuleVM`, which closes the Lua state before releasing it; used by one thread at a time.
final class HostEnvironment {
    let ruleSet: RuleSet
    let limits: EngineLimits
    let log: any RuleLogSink
    /// Log lines written during the current evaluation (capped by `limits.logLinesPerEvaluation`).
    var logLines = 0
    /// Where `llm.complete` gets its answers during the current evaluation.
    var llm: LLMSource = .unconfigured
    /// Strings handed back to Lua, kept alive until the trampoline has copied them.
    let arena = ReturnArena()
    /// The table a host function is building to return (`LuaTablePlan`), kept for its capacity.
    var plan = LuaTablePlan()
    /// Where a method describes the deferred table it returns (`DeferredTable`).
    let deferred = DeferredTable()
    /// A concept mentioned in a message: its state and where its words lie in `mentionWords`.
    typealias Mention = (concept: Int, state: Lexicon.State, words: Range<Int>)
    /// `lex:breakdown`'s mentions and their words, the intents that count and the modifiers that apply, kept for
    /// their capacity.
    var mentions: [Mention] = [], mentionWords: [UInt8] = [], stated: [Int] = [], applying: [Int] = []

    init(ruleSet: RuleSet, limits: EngineLimits, log: any RuleLogSink) {
        self.ruleSet = ruleSet
        self.limits = limits
        self.log = log
    }
}

/// Holds copies of strings a host function returns until Lua has copied them; emptied between evaluations.
/// One block, reused from evaluation to evaluation, takes them one after another; a string that does not fit gets
/// a buffer of its own until the next reset. (Returning a string costs a copy, not an allocation.)
final class ReturnArena {
    private static let blockSize = 4096
    private let block = UnsafeMutableRawBufferPointer.allocate(byteCount: ReturnArena.blockSize, alignment: 1)
    private var used = 0
    private var overflow: [UnsafeMutableRawBufferPointer] = []

    deinit {
        reset()
        block.deallocate()
    }

    /// A copy of `text`'s UTF-8 bytes at an address that stays valid until `reset()`.
    func copy(_ text: String) -> UnsafeRawBufferPointer {
        var text = text
        return text.withUTF8 { copy(UnsafeRawBufferPointer($0)) }
    }

    func copy(bytes: [UInt8]) -> UnsafeRawBufferPointer { bytes.withUnsafeBytes { copy($0) } }

    private func copy(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let count = bytes.count
        let target: UnsafeMutableRawBufferPointer
        if count <= block.count - used {
            target = UnsafeMutableRawBufferPointer(rebasing: block[used..<used + count])
            used += count
        } else {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 1)
            overflow.append(buffer)
            target = buffer
        }
        if count > 0 { target.copyMemory(from: bytes) }
        return UnsafeRawBufferPointer(target)
    }

    func reset() {
        used = 0
        for buffer in overflow { buffer.deallocate() }
        overflow.removeAll(keepingCapacity: true)
    }
}
