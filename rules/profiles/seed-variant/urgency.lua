-- Profile "seed-variant": the smaller scorer the seed's running app actually used (its document describes the
-- larger one, which rules/urgency.lua reproduces). Select it with `--rules rules/profiles/seed-variant`.
--
-- Same algorithm as the default rules: the highest tier whose keyword occurs in the lower-cased message, then
-- the modifiers in order, capped at 5, rounded to one decimal. Smaller tables, a duration modifier without
-- word boundaries, no "please" modifier, and an LLM step on gemini-2.5-flash-lite whose reply counts by its
-- first digit from 1 to 5. This profile is self-contained so it can be deployed on its own.

-- Each tier and modifier below is checked where it is declared, so a mistake is reported at its own line
-- (urgency.lua:63: modifier "x": re.compile: ...), and each modifier's pattern is compiled there, once.
local function declared(kind, spec)
  if type(spec) ~= "table" then error(kind .. " expects a table: " .. kind .. " { name = ..., ... }", 3) end
  if type(spec.name) ~= "string" or spec.name == "" then error("a " .. kind .. " needs a name", 3) end
  return string.format("%s %q: ", kind, spec.name)
end

local function tier(spec)
  local label = declared("tier", spec)
  if type(spec.score) ~= "number" then error(label .. "score must be a number, got " .. type(spec.score), 2) end
  if type(spec.keywords) ~= "table" then error(label .. "keywords must be a list of strings", 2) end
  for i, keyword in ipairs(spec.keywords) do
    if type(keyword) ~= "string" then error(string.format("%skeyword %d must be a string, got %s", label, i, type(keyword)), 2) end
  end
  return spec
end

local function modifier(spec)
  local label = declared("modifier", spec)
  if type(spec.add) ~= "number" then error(label .. "add must be a number, got " .. type(spec.add), 2) end
  local ok, compiled = pcall(re.compile, spec.pattern, spec.flags)
  if not ok then error(label .. compiled, 2) end
  spec.compiled = compiled
  return spec
end

RULES = {
  floor = 1.0,
  cap = 5.0,
  decimals = 1,
  fallback = 3.0,
  tiers = {
    tier { name = "critical", score = 5, keywords = {
      "can't access", "cant access", "cannot access", "can't login", "cant login", "unable to access", "blocked",
      "account blocked", "dead-end", "fraud", "unauthorized", "stolen", "hacked", "someone used my id",
      "identity misuse", "abuse", "desperately need", "urgent cash", "emergency", "accident", "it can't be",
    } },
    tier { name = "high", score = 4, keywords = {
      "rejected", "denied", "loan rejected", "reapply", "7 days", "penalty", "loan approval", "approved",
      "disbursed", "not received", "waiting", "haven't received", "crb", "credit report", "clearance",
      "batch number", "wrong balance",
    } },
    tier { name = "medium", score = 3, keywords = {
      "will pay", "promise to pay", "late payment", "overdue", "delay", "salary delayed", "request more time",
      "tomorrow", "next week", "72 hours",
    } },
    tier { name = "low", score = 2, keywords = {
      "how to", "how do i", "please advise", "update", "change", "payment options", "question", "clarify",
    } },
    tier { name = "minimal", score = 1, keywords = { "thank", "thanks", "appreciate", "ok", "okay" } },
  },
  modifiers = {
    modifier { name = "negation", pattern = [[\b(can'?t|cannot|unable to)\b]], flags = "i", add = 1.0 },
    modifier { name = "why-rejected", pattern = [[\b(why|what|when)\b.*\b(rejected|denied|blocked)\b]], flags = "i", add = 2.0 },
    modifier { name = "duration", pattern = [[\d+\s*(days?|weeks?)]], flags = "i", add = 0.5 },
    modifier { name = "repeated-question", pattern = [[\?{2,}]], flags = "i", add = 0.5 },
  },
  llm = {
    weight = 0.6,
    keyword_weight = 0.4,
    model = "gemini-2.5-flash-lite",
    temperature = 0.3,
    max_tokens = 10,
    system = "You are an expert at triaging customer messages. Respond with only a number from 1 to 5.",
    prompt = [[Rate the urgency of this customer support message on a scale of 1-5:

Message: "%s"

Scale:
5 = Critical (cannot access account, fraud, unauthorized transactions)
4 = High (loan approval/disbursement issues, credit bureau problems)
3 = Medium (payment difficulties, requesting extensions)
2 = Low (general questions, account updates, information requests)
1 = Minimal (thank you messages, non-urgent feedback)

Respond with only a single number (1-5).]],
  },
}

fallback = RULES.fallback
-- How fast a ticket must first be answered, by urgency level: the server stores each message's due time from
-- these and flags the ones past it unanswered (an operator's choice: edit freely, reloads apply it to new tickets).
sla = { [5] = "15m", [4] = "1h", [3] = "4h", [2] = "1d", [1] = "3d" }
local tiers = keywords.tiers(RULES.tiers)
local patterns = {}
for i, declared_modifier in ipairs(RULES.modifiers) do patterns[i] = declared_modifier.compiled end
local modifier_set = re.set(patterns)

function score(message, ctx)
  local text, settings = message.text, RULES.llm
  local value, tier_index, keyword = RULES.floor, tiers:best(message.text)
  local tier = tier_index and RULES.tiers[tier_index]
  if tier and tier.score > value then value = tier.score end
  local hits = modifier_set:test(text)
  local applied = {}
  for i, modifier in ipairs(RULES.modifiers) do
    if hits & (1 << (i - 1)) ~= 0 then
      value = math.min(RULES.cap, value + modifier.add)
      applied[#applied + 1] = { name = modifier.name, add = modifier.add }
    end
  end
  local keyword_score = decimal.round(value, RULES.decimals)

  local llm_part = { used = false, skipped = "disabled" }
  if ctx.llm_enabled then
    local reply, reason, call = llm.complete{
      system = settings.system, prompt = string.format(settings.prompt, text), model = settings.model,
      temperature = settings.temperature, max_tokens = settings.max_tokens,
    }
    -- The variant's parser: the first digit 1-5 anywhere in the reply.
    local digit = reply and reply:match("[1-5]")
    if digit then
      llm_part = { used = true, score = tonumber(digit), reply = reply }
    else
      llm_part = { used = false, skipped = reply and "unusable reply" or reason, reply = reply }
    end
    if call.attempts > 0 or call.cached then
      llm_part.latency_ms, llm_part.cached, llm_part.attempts = call.latency_ms, call.cached, call.attempts
      llm_part.http_status = call.http_status
    end
  end
  local final = keyword_score
  if llm_part.used then
    final = decimal.round(settings.weight * llm_part.score + settings.keyword_weight * keyword_score, RULES.decimals)
  end
  if not ctx.explain then return final end
  return final, {
    tier = tier and { name = tier.name, score = tier.score, keyword = keyword } or nil,
    modifiers = applied,
    keyword_score = keyword_score,
    llm = llm_part,
  }
end
