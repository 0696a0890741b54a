#!/usr/bin/env bash
# make bench-webhooks: the POST load (wrk, 64 connections) with webhooks off and on, alternating RUNS times, every
# message delivered to a trivial libmicrohttpd receiver on this machine (Tests/Benchmarks/trivial-mhd.c), then how
# long the deliveries still pending after the load take. Issue 16 asks for the rate with webhooks on within 10 %
# of the rate with them off.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/urgencyiq}
BENCH_DIR=${BENCH_DIR:-/tmp/urgencyiq-bench}
DURATION=${DURATION:-6s}
RUNS=${RUNS:-3}
PORT=${PORT:-5092}
RECEIVER_PORT=${RECEIVER_PORT:-5096}
here=Tests/Benchmarks
. "$here/common.sh"
mkdir -p "$BENCH_DIR"
${CC:-cc} -O2 -o "$BENCH_DIR/trivial-mhd" "$here/trivial-mhd.c" $(pkg-config --cflags --libs libmicrohttpd)
"$BENCH_DIR/trivial-mhd" "$RECEIVER_PORT" &
RECEIVER=$!
trap 'kill "$RECEIVER" 2>/dev/null || true' EXIT
cat "$here/post.lua" "$here/report.lua" > "$BENCH_DIR/post_report.lua"
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

# cpu_ticks PID: "name ticks" per thread name of the process (user + system, clock ticks of 10 ms)
cpu_ticks() {
  for task in /proc/"$1"/task/*; do echo "$(tr ' ' _ < "$task/comm") $(awk '{ print $14 + $15 }' "$task/stat")"; done 2>/dev/null \
    | awk '{ ticks[$1] += $2 } END { for (name in ticks) print name, ticks[name] }' | sort
}
# cpu_per_message BEFORE AFTER MESSAGES: microseconds of CPU per message, by thread group
cpu_per_message() {
  join "$1" "$2" | awk -v n="$3" '{ d = $3 - $2; group = $1; sub(/-[0-9]+$/, "", group); t[group] += d }
    END { line = ""; for (g in t) if (t[g] > 0) line = line sprintf("%s %.0f µs, ", g, t[g] * 10000 / n); print line }'
}

run() {  # run off|on: one POST load on a fresh database; prints the rate
  rm -f "$BENCH_DIR"/webhooks.db*
  local hooks=()
  [ "$1" = on ] && hooks=(WEBHOOK_URL="http://127.0.0.1:$RECEIVER_PORT/hook" WEBHOOK_SECRET="$SECRET")
  env URGENCYIQ_DB="$BENCH_DIR/webhooks.db" PER_IP_CONNECTION_LIMIT=0 "${hooks[@]}" "$BIN" serve --port "$PORT" --log-format off \
    --env-file /nonexistent 2>"$BENCH_DIR/webhooks-serve.log" &
  local server=$!
  wait_for "http://127.0.0.1:$PORT/api/health"
  local result rps requests
  cpu_ticks "$server" > "$BENCH_DIR/cpu-before"
  echo "receiver $(awk '{ print $14 + $15 }' /proc/"$RECEIVER"/stat)" >> "$BENCH_DIR/cpu-before"
  result=$(wrk -t2 -c64 -d"$DURATION" -s "$BENCH_DIR/post_report.lua" "http://127.0.0.1:$PORT" | grep RESULT)
  rps=$(echo "$result" | sed -n 's/.*rps=\([0-9]*\).*/\1/p')
  requests=$(echo "$result" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
  local drained=""
  if [ "$1" = on ]; then
    local started=$(date +%s.%N) pending
    while :; do
      pending=$(curl -fs "http://127.0.0.1:$PORT/api/webhooks/deliveries?limit=1000" | grep -o '"status":"pending"' | wc -l)
      [ "$pending" = 0 ] && break
      sleep 0.1
    done
    drained=$(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf ", the pending deliveries drained in %.1f s after the load", e - s }')
  fi
  cpu_ticks "$server" > "$BENCH_DIR/cpu-after"
  echo "receiver $(awk '{ print $14 + $15 }' /proc/"$RECEIVER"/stat)" >> "$BENCH_DIR/cpu-after"
  kill -TERM "$server"; wait "$server" || true
  echo "webhooks $1: $rps POSTs/s$drained; CPU per message: $(cpu_per_message "$BENCH_DIR/cpu-before" "$BENCH_DIR/cpu-after" "$requests")" >&2
  echo "$rps"
}

offs=(); ons=()
for _ in $(seq "$RUNS"); do offs+=("$(run off)"); ons+=("$(run on)"); done
off=$(median "${offs[@]}"); on=$(median "${ons[@]}")
awk -v off="$off" -v on="$on" 'BEGIN { printf "median: %d POSTs/s with webhooks on, %d off: %.2f of the rate (goal 0.90)\n", on, off, on / off }'
