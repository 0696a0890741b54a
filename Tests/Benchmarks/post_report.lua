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
-- wrk reporting: one line with requests/s, p50, p99 and the non-2xx count, easy to read and to parse.
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%d\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad))
end
