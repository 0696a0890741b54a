import Foundation
import XCTest
@testable import RulesEngine
import Support

/// `lex:breakdown`: the default rules' breakdown, built by the host in one call, is the table their Lua used to
/// assemble from `lex:read`'s text lists, field for field (integers staying integers), on every message we have.
final class HostBreakdownTests: XCTestCase {
    /// The default rules' explain path as it was written in Lua over `words:read`: the reference.
    private static let luaExplainedScore = """
        local find, sub = string.find, string.sub
        local floor, cap, default_level = RULES.floor, RULES.cap, RULES.default_level
        local function clamp(score)
          if score > cap then return cap elseif score < floor then return floor end
          return score
        end
        local function each_number(list, visit)
          local position = 1
          while position <= #list do
            local comma = find(list, ",", position, true) or #list + 1
            visit(tonumber(sub(list, position, comma - 1)))
            position = comma + 1
          end
        end
        local function explained_score(text)
          local chosen, stated, mentioned, shift, applying = words:read(text)
          local fired, concepts, set_aside, applied = {}, {}, {}, {}
          each_number(stated, function(number) fired[#fired + 1] = "intent " .. intent_list[number].name end)
          local position = 1
          while position <= #mentioned do
            local bar = find(mentioned, "|", position, true) or #mentioned + 1
            local equals = find(mentioned, "=", position, true)
            local colon = find(mentioned, ":", equals + 1, true)
            local name, state, evidence = sub(mentioned, position, equals - 1), sub(mentioned, equals + 1, colon - 1),
                                          sub(mentioned, colon + 1, bar - 1)
            if state == "active" then
              concepts[name] = evidence
              fired[#fired + 1] = "concept " .. name
            else
              set_aside[name] = state .. ": " .. evidence
            end
            position = bar + 1
          end
          each_number(applying, function(number)
            local spec = modifier_list[number]
            applied[#applied + 1] = { name = spec.name, add = spec.add }
            fired[#fired + 1] = "modifier " .. spec.name
          end)
          return clamp((chosen and intent_list[chosen].level or default_level) + shift), {
            intent = chosen and { name = intent_list[chosen].name, level = intent_list[chosen].level } or nil,
            concepts = concepts,
            set_aside = set_aside,
            modifiers = applied,
            fired = fired,
          }
        end
        """

    private static let hostExplainedScore = """
        local function explained_score(text)
          return words:breakdown(text)
        end
        """

    private func shippedRules() throws -> [String: String] {
        var files: [String: String] = [:]
        for name in ["urgency.lua", "vocabulary.lua"] {
            files[name] = try String(contentsOfFile: Repository.rules + "/" + name, encoding: .utf8)
        }
        return files
    }

    /// Every message of the labelled sets, the golden fixtures and the sample data, plus hostile ones.
    private func messages() throws -> [String] {
        try Repository.everyMessage() + ["", " ", "??", "🙂🙂🙂", "not not blocked", String(repeating: "fraud stolen not ", count: 300),
                                         "if my phone is stolen what happens", "it works now, thanks, but I was charged twice",
                                         "ACCOUNT BLOCKED!!! help urgently 5000 ksh", "nimeibiwa simu, sijapokea pesa", "a\u{0}b"]
    }

    func testTheHostsBreakdownIsTheOneTheRulesLuaBuilt() throws {
        let shipped = try shippedRules()
        let source = try XCTUnwrap(shipped["urgency.lua"])
        XCTAssertTrue(source.contains(Self.hostExplainedScore), "the default rules explain with words:breakdown")
        var reference = shipped
        reference["urgency.lua"] = source.replacingOccurrences(of: Self.hostExplainedScore, with: Self.luaExplainedScore)
        let host = try scorer(shipped), lua = try scorer(reference)
        let texts = try messages()
        XCTAssertGreaterThan(texts.count, 2000)
        var withIntent = 0, withSetAside = 0, withModifiers = 0
        for text in texts {
            let input = ScoringInput(text: text, customerID: 7)
            let a = try host.score(input, options: ScoringOptions(explain: true))
            let b = try lua.score(input, options: ScoringOptions(explain: true))
            XCTAssertEqual(a.value, b.value, text)
            XCTAssertEqual(a.breakdown?.rules, b.breakdown?.rules, text)
            let rules = try XCTUnwrap(a.breakdown?.rules)
            if rules["intent"] != nil { withIntent += 1 }
            if case .object(let members)? = rules["set_aside"], !members.isEmpty { withSetAside += 1 }
            if case .array(let items)? = rules["modifiers"], !items.isEmpty { withModifiers += 1 }
        }
        // The comparison covered every part of the breakdown, not only empty ones.
        XCTAssertGreaterThan(withIntent, 1000)
        XCTAssertGreaterThan(withSetAside, 50)
        XCTAssertGreaterThan(withModifiers, 500)
        // An intent's level stays an integer, a modifier's step a float, as the rules wrote them.
        let rules = try XCTUnwrap(host.score(ScoringInput(text: "my account is blocked, please help urgently"),
                                             options: ScoringOptions(explain: true)).breakdown?.rules)
        XCTAssertEqual(rules["intent"]?["level"], .integer(5))
        if case .array(let modifiers)? = rules["modifiers"] {
            XCTAssertTrue(modifiers.contains { $0["add"] == .number(0.02) }, "\(modifiers)")
        } else {
            XCTFail("no modifiers: \(rules)")
        }
    }
}
