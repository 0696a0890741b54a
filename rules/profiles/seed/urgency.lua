-- Profile "seed": the seed's documented keyword scorer, reproduced exactly (every one of its 20,100
-- reference messages to the decimal), then the LLM blend when it is enabled. Select it with
-- `--rules rules/profiles/seed` (or URGENCYIQ_RULES) where a migration must keep the seed's numbers; the
-- default rules (rules/urgency.lua) order tickets better. Edit the RULES table below: no Lua control flow
-- needed. Its fixtures are data/profiles/seed.
--
-- The engine's contract is only this: a global function score(message, ctx) returning a number (and,
-- optionally, a breakdown table). message.text is the message, message.customer_id its sender (may be nil);
-- ctx.explain says whether a breakdown is wanted, ctx.llm_enabled whether the LLM step may run.

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
  -- Every message starts at the floor; modifiers never take it below the floor or above the cap.
  floor = 1.0,
  cap = 5.0,
  -- Decimals the final score is rounded to (round half to even, as Python's round()).
  decimals = 1,
  -- Stored when these rules fail on a message (an error, a runaway loop): medium, so a person looks at it.
  fallback = 3.0,

  -- Tiers: if any keyword occurs anywhere in the lower-cased message (plain substring, no word
  -- boundaries: "ok" matches inside "took"), the score is at least the tier's score. Highest tier wins.
  tiers = {
    tier { name = "critical", score = 5, keywords = {
      "can't access", "cant access", "cannot access", "can't login", "cant login", "unable to access",
      "blocked", "account blocked", "dead-end", "fraud", "unauthorized", "stolen", "hacked",
      "someone used my id", "used my id", "identity misuse", "abuse", "abusing", "punish me",
      "punish me forever", "desperately need", "urgent cash", "emergency", "accident", "can't be",
      "it can't be",
    } },
    tier { name = "high", score = 4, keywords = {
      "rejected", "denied", "application rejected", "loan rejected", "reapply", "another 7 days", "7 days",
      "7more days", "penalty", "loan approval", "approved", "disbursed", "not received", "have not received",
      "when will", "waiting", "haven't received", "crb", "credit report", "clearance",
      "certificate of clearance", "trans union", "batch number", "clearance batch", "system says",
      "update your systems", "wrong balance",
    } },
    tier { name = "medium", score = 3, keywords = {
      "will pay", "i will pay", "pay on", "pay by", "promise", "promise to pay", "late payment", "overdue",
      "delay", "delayed salary", "not been paid", "salary delayed", "bear with me", "request more time",
      "allow me to pay", "amicable plan", "paid earlier", "paid part", "reduce my loan", "tomorrow",
      "next week", "within a week", "72hrs", "72 hours",
    } },
    tier { name = "low", score = 2, keywords = {
      "how to", "how do i", "how can i", "kindly advise", "please advise", "update", "change", "information",
      "number changed", "validate", "sms", "mpesa sms", "payment options", "weekly", "monthly",
      "adjust your payment", "question", "query", "clarify", "don't understand",
    } },
    tier { name = "minimal", score = 1, keywords = {
      "thank", "thanks", "thank you", "appreciate", "god bless", "ok", "okay", "alright",
      "have cleared my loan", "cleared my loan",
    } },
  },

  -- Modifiers, applied in this order to the original message: each adds its amount at most once.
  -- Patterns are PCRE2 with Python `re` semantics (Unicode \b \d \s \w; `.` stops at a newline);
  -- flags: i = case-insensitive.
  modifiers = {
    modifier { name = "negation", pattern = [[\b(can'?t|cannot|unable to)\b]], flags = "i", add = 1.0 },
    modifier { name = "why-rejected", pattern = [[\b(why|what|when)\b.*\b(rejected|denied|blocked)\b]], flags = "i", add = 2.0 },
    modifier { name = "duration", pattern = [[\b\d+\s*(days?|weeks?|months?)\b]], flags = "i", add = 0.5 },
    modifier { name = "repeated-question", pattern = [[\?{2,}]], flags = "i", add = 0.5 },
    modifier { name = "please", pattern = [[PLEASE|PLZ|PLS]], flags = "i", add = 0.5 },
  },

  -- The LLM step: used only when enabled at run time and the model answers with a number from 1 to 5.
  -- final = round(weight * llm + keyword_weight * keyword, decimals)
  llm = {
    weight = 0.6,
    keyword_weight = 0.4,
    model = "gpt-4o-mini",
    temperature = 0.3,
    max_tokens = 10,
    -- The whole call, retries included, may take this long (nil: the server's LLM_TIMEOUT_MS, 3 s by default).
    timeout_ms = nil,
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

-- The engine stores this score, with the error, when score() fails on a message.
fallback = RULES.fallback
-- How fast a ticket must first be answered, by urgency level: the server stores each message's due time from
-- these and flags the ones past it unanswered (an operator's choice: edit freely, reloads apply it to new tickets).
sla = { [5] = "15m", [4] = "1h", [3] = "4h", [2] = "1d", [1] = "3d" }

-- Compiled once per rules version, shared by every message.
local tiers = keywords.tiers(RULES.tiers)
local tier_list, modifier_list, llm_settings = RULES.tiers, RULES.modifiers, RULES.llm
local patterns = {}
for i, declared_modifier in ipairs(modifier_list) do patterns[i] = declared_modifier.compiled end
-- All modifiers are tested in one call: bit i-1 of the answer says whether modifier i matched. Beyond 64
-- modifiers, set:matches lists the numbers of those that matched instead.
local modifier_set = re.set(patterns)
local use_mask = #patterns <= 64
local floor, cap, decimals = RULES.floor, RULES.cap, RULES.decimals
local round, format = decimal.round, string.format

-- score + amount, kept within [floor, cap]; the second result says whether the cap clipped it.
local function clamp(value)
  if value > cap then return cap, true end
  if value < floor then return floor, false end
  return value, false
end

-- The keyword score: highest matching tier, then the modifiers in order, clamped to [floor, cap].
local function keyword_score(text)
  local score = floor
  local tier_index = tiers:best(text)
  if tier_index then
    local tier_score = tier_list[tier_index].score
    if tier_score > score then score = tier_score end
  end
  if use_mask then
    local hits = modifier_set:test(text)
    if hits ~= 0 then
      for i = 1, #modifier_list do
        if hits & (1 << (i - 1)) ~= 0 then score = clamp(score + modifier_list[i].add) end
      end
    end
  else
    local hits = modifier_set:matches(text)
    if hits then
      for _, i in ipairs(hits) do score = clamp(score + modifier_list[i].add) end
    end
  end
  return score
end

-- The same computation, recording why: tier and keyword, each modifier, whether the cap clipped.
local function explained_keyword_score(text)
  local score = floor
  local tier_index, keyword = tiers:best(text)
  local tier = tier_index and tier_list[tier_index]
  if tier and tier.score > score then score = tier.score end
  local applied, capped = {}, false
  local hits, limited, hit, over
  if use_mask then
    hits, limited = modifier_set:test(text)
  else
    hit, over = {}, {}
    local found, capped_out = modifier_set:matches(text)
    for _, i in ipairs(found or {}) do hit[i] = true end
    for _, i in ipairs(capped_out or {}) do over[i] = true end
  end
  for i = 1, #modifier_list do
    local modifier, bit = modifier_list[i], 1 << (i - 1)
    if (use_mask and hits & bit ~= 0) or (not use_mask and hit[i]) then
      local clipped
      score, clipped = clamp(score + modifier.add)
      capped = capped or clipped
      applied[#applied + 1] = { name = modifier.name, add = modifier.add }
    elseif (use_mask and limited & bit ~= 0) or (not use_mask and over[i]) then
      applied[#applied + 1] = { name = modifier.name, add = 0, skipped = "match limit exceeded" }
    end
  end
  local fired = {}
  if tier then fired[1] = "tier " .. tier.name .. ": " .. keyword end
  for i = 1, #applied do
    if not applied[i].skipped then fired[#fired + 1] = "modifier " .. applied[i].name end
  end
  return score, {
    tier = tier and { name = tier.name, score = tier.score, keyword = keyword } or nil,
    modifiers = applied,
    capped = capped,
    fired = fired,
  }
end

-- Every tier keyword and modifier, as breakdowns name them in `fired` (for `urgencyiq check --coverage`).
function inventory()
  local names = {}
  for _, tier in ipairs(tier_list) do
    for _, keyword in ipairs(tier.keywords) do names[#names + 1] = "tier " .. tier.name .. ": " .. keyword end
  end
  for _, declared_modifier in ipairs(modifier_list) do names[#names + 1] = "modifier " .. declared_modifier.name end
  return names
end

-- Python's float() on the reply, as the seed parses it: surrounding whitespace (Unicode's, like str.strip()),
-- an optional sign, ASCII digits with single underscores between them, a decimal point, an exponent.
-- inf and nan parse in Python but never fall within 1..5, so they are unusable here too.
local PYTHON_SPACE = { [0x85] = true, [0xA0] = true, [0x1680] = true, [0x2028] = true, [0x2029] = true,
                       [0x202F] = true, [0x205F] = true, [0x3000] = true }
for code = 9, 13 do PYTHON_SPACE[code] = true end
for code = 28, 32 do PYTHON_SPACE[code] = true end
for code = 0x2000, 0x200A do PYTHON_SPACE[code] = true end

local function python_strip(text)
  if not utf8.len(text) then return nil end
  local first, last = 1, #text
  while first <= last and PYTHON_SPACE[utf8.codepoint(text, first)] do first = utf8.offset(text, 2, first) end
  while last >= first do
    local start = utf8.offset(text, 0, last)
    if not PYTHON_SPACE[utf8.codepoint(text, start)] then break end
    last = start - 1
  end
  return text:sub(first, last)
end

local function digit_run(part) return part:find("^%d[%d_]*$") ~= nil and not part:find("__") and not part:find("_$") end

local function python_float(reply)
  local sign, body = (python_strip(reply) or ""):match("^([+-]?)(.+)$")
  if not body then return nil end
  local mantissa, exponent = body:match("^([^eE]*)[eE]([+-]?[^eE]*)$")
  mantissa = mantissa or body
  if exponent and not digit_run((exponent:gsub("^[+-]", ""))) then return nil end
  local whole, fraction = mantissa:match("^([^.]*)%.([^.]*)$")
  whole = whole or mantissa
  if whole == "" and (fraction or "") == "" then return nil end
  if whole ~= "" and not digit_run(whole) then return nil end
  if fraction and fraction ~= "" and not digit_run(fraction) then return nil end
  return tonumber(sign .. (body:gsub("_", "")))
end

-- The LLM's opinion on a 1..5 scale, or nil and why there is none; then the reply and what the call cost.
local function llm_score(text)
  local reply, reason, call = llm.complete{
    system = llm_settings.system,
    prompt = format(llm_settings.prompt, text),
    model = llm_settings.model,
    temperature = llm_settings.temperature,
    max_tokens = llm_settings.max_tokens,
    timeout_ms = llm_settings.timeout_ms,
  }
  if not reply then return nil, reason, nil, call end
  local value = python_float(reply)
  if not value or not (value >= 1 and value <= 5) then return nil, "unusable reply", reply, call end
  return value, nil, reply, call
end

function score(message, ctx)
  local text = message.text
  if not ctx.explain then
    local keyword = round(keyword_score(text), decimals)
    if not ctx.llm_enabled then return keyword end
    local opinion = llm_score(text)
    if not opinion then return keyword end
    return round(llm_settings.weight * opinion + llm_settings.keyword_weight * keyword, decimals)
  end

  local keyword, explanation = explained_keyword_score(text)
  keyword = round(keyword, decimals)
  explanation.keyword_score = keyword
  local final, opinion, skipped, reply, call = keyword, nil, "disabled", nil, nil
  if ctx.llm_enabled then opinion, skipped, reply, call = llm_score(text) end
  local part = { used = opinion ~= nil, score = opinion, skipped = skipped, reply = reply }
  if opinion then final = round(llm_settings.weight * opinion + llm_settings.keyword_weight * keyword, decimals) end
  if call and (call.attempts > 0 or call.cached) then
    part.latency_ms, part.cached, part.attempts = call.latency_ms, call.cached, call.attempts
    part.http_status, part.finish_reason = call.http_status, call.finish_reason
  end
  explanation.llm = part
  return final, explanation
end
