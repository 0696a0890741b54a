-- wrk script: POST /api/messages/send with a JSON body that varies per request.
local messages = {
  "Why was my loan rejected? I paid everything on time",
  "When will my loan be disbursed??? It has been 3 days",
  "I cant access my account, please help",
  "Thank you for the quick response",
  "I will pay on Friday when my salary comes",
  "How do I change my phone number?",
  "Someone used my id to borrow, this is fraud",
  "Nimelipa deni lakini bado naona balance, tafadhali",
}
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"user_id": %d, "message": "%s #%d"}', counter % 5000 + 1, messages[counter % #messages + 1], counter)
  return wrk.format("POST", "/api/messages/send", { ["Content-Type"] = "application/json" }, body)
end
