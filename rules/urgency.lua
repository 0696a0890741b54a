-- UrgencyIQ default rules: how urgent is a customer-support message, from 1 (minimal) to 5 (critical).
--
-- Designed to order tickets as a support lead would (see data/labelled/ and the accuracy figures in the
-- README). A message is read as words (rules/vocabulary.lua: the concepts customers talk about, in English,
-- Swahili and Sheng, with SMS spellings and typing slips forgiven); concepts that are negated ("not blocked,
-- just asking"), hypothetical ("what if my phone is stolen") or already resolved ("it works now") do not
-- count. The INTENTS below combine concepts; the most urgent intent the customer states sets the level.
-- To tune: edit INTENTS here or the word lists in vocabulary.lua; `urgencyiq check` reports the accuracy on
-- the labelled sets before anything goes live.
--
-- The seed's keyword scorer, to the decimal, is rules/profiles/seed.

-- Each intent is checked where it is declared, so a mistake is reported at its own line.
local function intent(spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then error("intent expects { name = ..., level = ..., when = {...} }", 2) end
  local label = string.format("intent %q: ", spec.name)
  if type(spec.level) ~= "number" then error(label .. "level must be a number, got " .. type(spec.level), 2) end
  if type(spec.when) ~= "table" or #spec.when == 0 then error(label .. "when must list concepts", 2) end
  return spec
end

local function modifier(spec)
  if type(spec) ~= "table" or type(spec.name) ~= "string" then error("modifier expects { name = ..., add = ..., when = {...} }", 2) end
  local label = string.format("modifier %q: ", spec.name)
  if type(spec.add) ~= "number" then error(label .. "add must be a number, got " .. type(spec.add), 2) end
  return spec
end

RULES = {
  floor = 1.0,
  cap = 5.0,
  decimals = 2,
  -- Stored when these rules fail on a message: medium, so a person looks at it.
  fallback = 3.0,
  -- The level of a message that states no intent at all.
  default_level = 2,

  -- An intent counts when all the concepts of one of its `when` entries are active (a single name, or a
  -- list that must all be), and none of its `unless` concepts is. The most urgent intent wins. A `weak`
  -- intent (thanks, greetings) counts only when the message mentions nothing but what weak intents and
  -- questions are made of: "thanks, but my refund has not come" is about the refund.
  intents = {
    intent { name = "cannot access the account", level = 5, when = { "access_problem" } },
    intent { name = "someone else is using the account", level = 5, when = { "takeover" } },
    intent { name = "fraud or a scam", level = 5, when = { "fraud" }, unless = { "scam_check" } },
    intent { name = "scammed: money sent to a fraudster", level = 5, when = { { "fraud", "paid" } } },
    intent { name = "phone, SIM or ID stolen or lost", level = 5, when = { "stolen_phone" } },
    intent { name = "threat of harm", level = 5, when = { "threat" } },
    intent { name = "thoughts of self-harm", level = 5, when = { "self_harm" } },
    intent { name = "an emergency, money needed now", level = 5, when = { { "emergency", "need_now" } } },

    intent { name = "loan rejected", level = 4, when = { "rejected" } },
    intent { name = "loan not received", level = 4, when = { { "loan_expected", "not_arrived" }, "loan_wait" }, unless = { "salary" } },
    intent { name = "payment not reflected", level = 4, when = { { "paid", "not_showing" }, "not_showing" } },
    intent { name = "refund", level = 4, when = { "refund" }, unless = { "penalty" } },
    intent { name = "charged twice", level = 4, when = { "double_charge" } },
    intent { name = "wrong balance or charges", level = 4, when = { "wrong_charge" }, unless = { "penalty" } },
    intent { name = "a penalty never agreed to", level = 4, when = { { "penalty", "not_agreed" } } },
    intent { name = "credit bureau (CRB) listing", level = 4, when = { "crb" }, unless = { "general_question", "promise" } },
    intent { name = "still listed with the credit bureau", level = 4, when = { { "crb", "trouble" } }, unless = { "promise", "general_question" } },
    intent { name = "clearance certificate still missing", level = 4, when = { { "clearance", "trouble" } }, unless = { "general_question" } },
    intent { name = "clearance certificate", level = 4, when = { "clearance" }, unless = { "general_question" } },
    intent { name = "paid, but the balance is wrong", level = 4, when = { { "balance", "mismatch" } } },
    intent { name = "angry repeated follow-up", level = 4, when = { "followup" } },

    intent { name = "promise to pay", level = 3, when = { "promise" } },
    intent { name = "payment difficulty", level = 3, when = { "difficulty" } },
    intent { name = "more time or restructuring", level = 3, when = { "extension" }, unless = { "general_question" } },
    intent { name = "salary delayed", level = 3, when = { "salary" } },
    intent { name = "penalty dispute", level = 3, when = { { "penalty", "dispute" } }, unless = { "general_question" } },
    intent { name = "limit cut or stuck", level = 3, when = { { "limit", "limit_drop" } } },
    intent { name = "collection calls", level = 3, when = { "harassment" } },

    -- Figures and a sign that something is wrong, and nothing else recognised: most often money gone astray.
    intent { name = "a problem with figures", level = 3, when = { { "amount", "trouble" }, { "paid", "trouble" } } },

    intent { name = "question", level = 2, when = { "question", "general_question" } },
    intent { name = "is this really you?", level = 2, when = { "scam_check" } },
    intent { name = "account update", level = 2, when = { "account_update" } },
    intent { name = "information", level = 2, when = { { "information", "question" }, { "information", "general_question" } } },
    intent { name = "limit question", level = 2, when = { { "limit", "question" }, { "limit", "general_question" } } },
    intent { name = "penalty question", level = 2, when = { { "penalty", "question" }, { "penalty", "general_question" } } },

    intent { name = "thanks", level = 1, when = { "thanks" }, weak = true },
    intent { name = "resolved", level = 1, when = { "resolved_news" }, weak = true },
    intent { name = "acknowledgement", level = 1, when = { "acknowledgement" }, weak = true },
    intent { name = "greeting", level = 1, when = { "greeting" }, weak = true },
  },

  -- Small steps that order tickets within a level, each applied at most once, together at most max_shift (so
  -- they never change the level, and a score still reads as its level to one decimal): signs of a problem or of
  -- hurry up, a plain question or a thank-you down. Scores carry two decimals for them.
  modifiers = {
    modifier { name = "something is wrong", add = 0.03, when = { "trouble" } },
    modifier { name = "a sum of money", add = 0.02, when = { "amount" } },
    modifier { name = "needed now", add = 0.02, when = { "need_now" } },
    modifier { name = "an emergency", add = 0.02, when = { "emergency" } },
    modifier { name = "money or a loan", add = 0.01, when = { "loan_expected" } },
    modifier { name = "thanks", add = -0.02, when = { "thanks" } },
    modifier { name = "only a question", add = -0.02, when = { "general_question" } },
    modifier { name = "a question", add = -0.01, when = { "question" } },
    modifier { name = "about the limit", add = -0.01, when = { "limit" } },
    modifier { name = "still waiting for money", add = 0.02, when = { "not_arrived" } },
  },
  max_shift = 0.04,

  -- The LLM step: used only when enabled at run time and the model answers with a number from 1 to 5.
  -- final = round(weight * llm + keyword_weight * keyword, decimals)
  llm = {
    weight = 0.6,
    keyword_weight = 0.4,
    -- Messages not worth a model call: when the intent that sets the level is one of these, the keyword score
    -- is final and no call is made (the breakdown says llm skipped: "not worth a model call: thanks").
    skip_intents = { "thanks" },
    model = "gpt-4o-mini",
    temperature = 0.3,
    max_tokens = 10,
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

fallback = RULES.fallback
-- How fast a ticket must first be answered, by urgency level: the server stores each message's due time from
-- these and flags the ones past it unanswered (an operator's choice: edit freely, reloads apply it to new tickets).
sla = { [5] = "15m", [4] = "1h", [3] = "4h", [2] = "1d", [1] = "3d" }

-- Compiled once per rules version, shared by every message. --------------------------------------------

local vocabulary = require("vocabulary")
local intent_list, modifier_list = RULES.intents, RULES.modifiers

-- The concepts weak intents and questions are made of, and the neutral ones (a balance, a limit, money):
-- a message with any other concept active is about that, not a thank-you.
local minor = {}
for _, spec in ipairs(intent_list) do
  if spec.weak or spec.name == "question" then
    for _, names in ipairs(spec.when) do
      for _, name in ipairs(type(names) == "table" and names or { names }) do minor[#minor + 1] = name end
    end
  end
end
for _, entry in ipairs(vocabulary.concepts) do
  if entry.neutral then minor[#minor + 1] = entry.name end
end

-- The words, the concepts and the intents, compiled once per rules version: one host call reads a message.
local spec = {
  intents = intent_list, minor = minor, modifiers = modifier_list, max_shift = RULES.max_shift,
  default_level = RULES.default_level, floor = RULES.floor, cap = RULES.cap, decimals = RULES.decimals,
}
for key, value in pairs(vocabulary) do spec[key] = value end
local words = lexicon.compile(spec)

local decimals = RULES.decimals
local round, format = decimal.round, string.format

-- A message is read in one host call. `words:rate(text)` → the score and the number of the intent chosen: the
-- most urgent intent stated (weak intents only when nothing else is), then the modifiers' step, within the
-- floor and the cap, rounded. `words:breakdown(text)` → the score before rounding and the breakdown from the
-- same reading: the intent chosen ({ name, level }); the concepts stated (name → the words that stated it) and
-- those set aside (name → "negated: words", hypothetical or resolved); the modifiers applied ({ name, add });
-- `fired` lists every intent that counts, every concept stated and every modifier applied. It is an ordinary
-- table: add to it or change it here as you like.
local function explained_score(text)
  return words:breakdown(text)
end

-- Every intent, concept and modifier, as breakdowns name them in `fired` (`urgencyiq check --coverage`).
function inventory()
  local names = {}
  for _, spec in ipairs(intent_list) do names[#names + 1] = "intent " .. spec.name end
  for _, entry in ipairs(vocabulary.concepts) do names[#names + 1] = "concept " .. entry.name end
  for _, spec in ipairs(modifier_list) do names[#names + 1] = "modifier " .. spec.name end
  return names
end

-- Python's float() on the reply, as the seed parses it.
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

local llm_settings = RULES.llm

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

local skip_intent = {}
for _, name in ipairs(llm_settings.skip_intents or {}) do skip_intent[name] = true end

-- Why a model call is not worth making for a message whose level was set by `intent_name`, or nil.
local function not_worth_a_call(intent_name)
  if intent_name and skip_intent[intent_name] then return "not worth a model call: " .. intent_name end
  return nil
end

function score(message, ctx)
  local text = message.text
  if not ctx.explain then
    local keyword, chosen = words:rate(text)
    if not ctx.llm_enabled then return keyword end
    if not_worth_a_call(chosen and intent_list[chosen].name) then return keyword end
    local opinion = llm_score(text)
    if not opinion then return keyword end
    return round(llm_settings.weight * opinion + llm_settings.keyword_weight * keyword, decimals)
  end

  local keyword, explanation = explained_score(text)
  keyword = round(keyword, decimals)
  explanation.keyword_score = keyword
  local final, opinion, skipped, reply, call = keyword, nil, "disabled", nil, nil
  if ctx.llm_enabled then
    skipped = not_worth_a_call(explanation.intent and explanation.intent.name)
    if not skipped then opinion, skipped, reply, call = llm_score(text) end
  end
  local part = { used = opinion ~= nil, score = opinion, skipped = skipped, reply = reply }
  if opinion then final = round(llm_settings.weight * opinion + llm_settings.keyword_weight * keyword, decimals) end
  if call and (call.attempts > 0 or call.cached) then
    part.latency_ms, part.cached, part.attempts = call.latency_ms, call.cached, call.attempts
    part.http_status, part.finish_reason = call.http_status, call.finish_reason
  end
  explanation.llm = part
  return final, explanation
end
