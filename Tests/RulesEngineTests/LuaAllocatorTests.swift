import XCTest
import CLuaHost
@testable import RulesEngine

/// The rule VM's allocator: small objects from the state's block pool (blockpool.c), larger ones from malloc, under
/// the state's cap. What Lua keeps must survive every move between the two, and what it frees must be counted back.
final class LuaAllocatorTests: XCTestCase {
    private func state() throws -> LuaState {
        let state = try LuaState(memoryLimit: 64 << 20, regexMatchLimit: 100_000, regexDepthLimit: 10_000)
        try state.openLibraries()
        return state
    }

    /// Runs a chunk that returns one string, and gives it.
    private func run(_ state: LuaState, _ source: String) throws -> String? {
        try state.runChunk(source, chunkName: "=allocator", arguments: 0, results: 1, budget: 200_000_000)
        defer { lua_settop(state.raw, 0) }
        return lua_tolstring(state.raw, -1, nil).map { String(cString: $0) }
    }

    /// Tables grown from empty to thousands of entries and shrunk back, strings of every length around the small
    /// block size: their contents read back as written.
    func testContentsSurviveGrowingAndShrinkingAcrossTheSmallBlockSize() throws {
        let state = try state()
        let result = try run(state, """
            local problems = {}
            local list, map = {}, {}
            for i = 1, 3000 do
              list[i] = i * 3
              map["k" .. i] = i
              if i % 97 == 0 then
                for j = 1, i do if list[j] ~= j * 3 or map["k" .. j] ~= j then problems[#problems + 1] = i .. ":" .. j break end end
              end
            end
            for i = 3000, 6, -1 do list[i] = nil; map["k" .. i] = nil end
            for i = 1, 200 do map["again" .. i] = i end  -- a rehash: the parts shrink
            for j = 1, 5 do if list[j] ~= j * 3 or map["k" .. j] ~= j then problems[#problems + 1] = "shrunk:" .. j end end
            for length = 1, 600 do
              local s = ("ab"):rep(length // 2) .. (length % 2 == 1 and "c" or "")
              local t = {}
              for k = 1, length do t[k] = s:sub(k, k) end
              if #s ~= length or table.concat(t) ~= s then problems[#problems + 1] = "string:" .. length end
            end
            return #problems == 0 and "ok" or table.concat(problems, " ")
            """)
        XCTAssertEqual(result, "ok")
    }

    /// More small objects than the pool's region holds: the rest come from malloc, and every one reads back, is
    /// freed and counted back wherever it came from.
    func testBeyondThePoolsRegionBlocksComeFromMalloc() throws {
        let state = try state()
        let before = uiq_state_pooled_bytes(state.raw)
        let result = try run(state, """
            local all = {}
            for i = 1, 250000 do all[i] = { i } end  -- 250,000 tables of ~56 bytes: past 8 MiB
            for i = 1, 250000, 997 do if all[i][1] ~= i then return "lost " .. i end end
            for i = 1, 250000 do all[i] = { i, i } end  -- the first tables freed as these are made
            for i = 1, 250000, 991 do if all[i][2] ~= i then return "lost again " .. i end end
            return "ok"
            """)
        XCTAssertEqual(result, "ok")
        let carved = uiq_state_pooled_bytes(state.raw)
        if uiq_small_objects_pooled() != 0 {
            XCTAssertGreaterThan(carved, before)
            XCTAssertLessThanOrEqual(carved, 8 << 20, "the region bounds the pool")
        } else {
            XCTAssertEqual(carved, 0, "no pool under AddressSanitizer")
        }
        // (Twice: Lua's own string table grows on the first run and keeps its size.)
        let again = "local t = {} for i = 1, 250000 do t[i] = { tostring(i) } end return 'again'"
        _ = try run(state, again)
        let baseline = uiq_collect_garbage(state.raw)
        _ = try run(state, again)
        XCTAssertLessThan(uiq_collect_garbage(state.raw), baseline + 16 * 1024, "what malloc and the pool gave is counted back")
        XCTAssertEqual(uiq_collect_garbage(state.raw), uiq_host_of(state.raw).pointee.memory_used)
    }

    /// Churning through small objects run after run: the state's count of what it holds comes back to where it
    /// was after each collection (every block freed is counted back at its size).
    func testWhatIsFreedIsCountedBack() throws {
        let state = try state()
        _ = try run(state, "return 'warm'")
        _ = uiq_collect_garbage(state.raw)
        let baseline = uiq_host_of(state.raw).pointee.memory_used
        for round in 0..<20 {
            _ = try run(state, """
                local keep = {}
                for i = 1, 20000 do keep[i % 500 + 1] = { i, tostring(i), { name = "n" .. i } } end
                return tostring(#keep)
                """)
            let counted = uiq_collect_garbage(state.raw)
            let used = uiq_host_of(state.raw).pointee.memory_used
            XCTAssertLessThan(used, baseline + 16 * 1024, "round \(round): \(used) bytes held, \(baseline) at the start")
            XCTAssertEqual(counted, used, "Lua's own count and the allocator's agree")
        }
    }
}
