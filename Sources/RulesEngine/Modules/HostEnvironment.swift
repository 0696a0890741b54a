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

    init(ruleSet: RuleSet, limits: EngineLimits, log: any RuleLogSink) {
        self.ruleSet = ruleSet
        self.limits = limits
        self.log = log
    }
}

/// Holds copies of strings a host function returns until Lua has copied them; emptied between evaluations.
final class ReturnArena {
    private var buffers: [UnsafeMutableRawBufferPointer] = []

    deinit { reset() }

    /// A copy of `text`'s UTF-8 bytes at an address that stays valid until `reset()`.
    func copy(_ text: String) -> UnsafeRawBufferPointer {
        copy(bytes: Array(text.utf8))
    }

    func copy(bytes: [UInt8]) -> UnsafeRawBufferPointer {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
        buffer.copyBytes(from: bytes)
        buffers.append(buffer)
        return UnsafeRawBufferPointer(rebasing: buffer[0..<bytes.count])
    }

    func reset() {
        for buffer in buffers { buffer.deallocate() }
        buffers.removeAll(keepingCapacity: true)
    }
}
