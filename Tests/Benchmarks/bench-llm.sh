#!/usr/bin/env bash
# make bench-llm: the LLM step at production scale against a fake OpenAI-compatible model that answers in LATENCY
# seconds (Tests/Benchmarks/fake_model.py, 0.3 s by default), all in one run on this machine:
#  1. the POST load (wrk, 64 connections) with the LLM off and with it on in background mode, alternating RUNS
#     times: rate and p99 (issue 17: on ≥ 80 % of off, p99 within 20 ms of off's);
#  2. the same load in inline mode once (the seed's semantics: the API is as fast as concurrency / latency);
#  3. 200 messages sent at once in background mode at LLM_MAX_CONCURRENCY=8: how long until all are refined, and
#     the refinement rate against concurrency / latency.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/urgencyiq}
BENCH_DIR=${BENCH_DIR:-/tmp/urgencyiq-bench}
DURATION=${DURATION:-6s}
RUNS=${RUNS:-3}
PORT=${PORT:-5093}
MODEL_PORT=${MODEL_PORT:-5097}
LATENCY=${LATENCY:-0.3}
here=Tests/Benchmarks
. "$here/common.sh"
mkdir -p "$BENCH_DIR"
python3 "$here/fake_model.py" "$MODEL_PORT" "$LATENCY" &
MODEL=$!
trap 'kill "$MODEL" 2>/dev/null || true' EXIT
cat "$here/post.lua" "$here/report.lua" > "$BENCH_DIR/post_report.lua"
wait_for "http://127.0.0.1:$MODEL_PORT/calls"

start_server() {  # start_server off|background|inline: a server on a fresh database, LLM as asked
  rm -f "$BENCH_DIR"/llm.db*
  local llm=(USE_LLM=false)
  [ "$1" != off ] && llm=(USE_LLM=true LLM_BASE_URL="http://127.0.0.1:$MODEL_PORT/v1" LLM_API_KEY=bench LLM_MODE="$1"
                         LLM_MAX_CONCURRENCY=8 LLM_CACHE_SIZE=0)
  env URGENCYIQ_DB="$BENCH_DIR/llm.db" PER_IP_CONNECTION_LIMIT=0 "${llm[@]}" "$BIN" serve --port "$PORT" --log-format off \
    --env-file /nonexistent 2>"$BENCH_DIR/llm-serve.log" &
  SERVER=$!
  wait_for "http://127.0.0.1:$PORT/api/health"
}

stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; }

load() {  # load off|background|inline: prints "rps p99_ms"
  start_server "$1"
  local result
  result=$(wrk -t2 -c64 -d"$DURATION" --timeout 10s -s "$BENCH_DIR/post_report.lua" "http://127.0.0.1:$PORT" | grep RESULT)
  local queue=""
  [ "$1" = background ] && queue=$(curl -fs "http://127.0.0.1:$PORT/api/llm/status" \
    | python3 -c 'import json,sys; q=json.load(sys.stdin)["queue"]; print(", queue %d deep, %d refined, %d kept their keyword score (backlog)" % (q["depth"], q["refined_total"], q["skipped_total"].get("backlog", 0)))')
  stop_server
  echo "LLM $1: $result$queue" >&2
  echo "$result" | sed -n 's/.*rps=\([0-9]*\).*p99_ms=\([0-9.]*\).*/\1 \2/p'
}

off_rates=(); off_p99=(); on_rates=(); on_p99=()
for _ in $(seq "$RUNS"); do
  read -r rate p99 < <(load off); off_rates+=("$rate"); off_p99+=("$p99")
  read -r rate p99 < <(load background); on_rates+=("$rate"); on_p99+=("$p99")
done
read -r inline_rate inline_p99 < <(load inline)
off=$(median "${off_rates[@]}"); on=$(median "${on_rates[@]}")
offp=$(median "${off_p99[@]}"); onp=$(median "${on_p99[@]}")
awk -v off="$off" -v on="$on" -v offp="$offp" -v onp="$onp" -v ir="$inline_rate" -v ip="$inline_p99" 'BEGIN {
  printf "median POST rate: LLM off %d/s (p99 %.1f ms), background %d/s (p99 %.1f ms): %.2f of the rate (goal 0.80), p99 %+.1f ms (goal < 20)\n", off, offp, on, onp, on / off, onp - offp
  printf "inline (the seed'"'"'s semantics), once: %d/s, p99 %.0f ms\n", ir, ip }'

# 200 at once, background, concurrency 8.
start_server background
before=$(curl -fs "http://127.0.0.1:$MODEL_PORT/calls")
started=$(date +%s.%N)
seq 200 | xargs -P 50 -I{} curl -fs -o /dev/null -H 'Content-Type: application/json' \
  -d '{"user_id": {}, "message": "Nimeibiwa simu, please block my account #{}"}' "http://127.0.0.1:$PORT/api/messages/send"
sent=$(date +%s.%N)
while :; do
  depth=$(curl -fs "http://127.0.0.1:$PORT/api/llm/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["queue"]["depth"])')
  [ "$depth" = 0 ] && break
  sleep 0.05
done
finished=$(date +%s.%N)
calls=$(( $(curl -fs "http://127.0.0.1:$MODEL_PORT/calls") - before ))
stop_server
awk -v s="$started" -v m="$sent" -v e="$finished" -v c="$calls" -v l="$LATENCY" 'BEGIN {
  printf "200 messages at once: sent in %.2f s, all refined %.1f s after the first send (goal < 15 s); %d model calls; %.1f refinements/s against 8 / %.1f s = %.1f/s\n", m - s, e - s, c, c / (e - s), l, 8 / l }'
