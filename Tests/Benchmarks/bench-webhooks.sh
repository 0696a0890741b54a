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

run() {  # run off|on: one POST load on a fresh database; prints the rate
  rm -f "$BENCH_DIR"/webhooks.db*
  local hooks=()
  [ "$1" = on ] && hooks=(WEBHOOK_URL="http://127.0.0.1:$RECEIVER_PORT/hook" WEBHOOK_SECRET="$SECRET")
  env URGENCYIQ_DB="$BENCH_DIR/webhooks.db" PER_IP_CONNECTION_LIMIT=0 "${hooks[@]}" "$BIN" serve --port "$PORT" --log-format off \
    --env-file /nonexistent 2>"$BENCH_DIR/webhooks-serve.log" &
  local server=$!
  wait_for "http://127.0.0.1:$PORT/api/health"
  local result rps
  result=$(wrk -t2 -c64 -d"$DURATION" -s "$BENCH_DIR/post_report.lua" "http://127.0.0.1:$PORT" | grep RESULT)
  rps=$(echo "$result" | sed -n 's/.*rps=\([0-9]*\).*/\1/p')
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
  kill -TERM "$server"; wait "$server" || true
  echo "webhooks $1: $rps POSTs/s$drained" >&2
  echo "$rps"
}

offs=(); ons=()
for _ in $(seq "$RUNS"); do offs+=("$(run off)"); ons+=("$(run on)"); done
off=$(median "${offs[@]}"); on=$(median "${ons[@]}")
awk -v off="$off" -v on="$on" 'BEGIN { printf "median: %d POSTs/s with webhooks on, %d off: %.2f of the rate (goal 0.90)\n", on, off, on / off }'
