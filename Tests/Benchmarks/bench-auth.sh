#!/usr/bin/env bash
# make bench-auth: what API keys cost. The POST load (wrk, 64 connections) and GET /api/messages?limit=20, each on a
# server without keys (loopback, the seed's mode) and on one with AUTH=required sending an agent key, alternating
# RUNS times in one run; medians and the ratio keyed / open. With a key, every request looks the key up in the
# store by its SHA-256 (so a revocation counts at once on every server) on a worker thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/urgencyiq}
BENCH_DIR=${BENCH_DIR:-/tmp/urgencyiq-bench}
DURATION=${DURATION:-6s}
RUNS=${RUNS:-3}
PORT=${PORT:-5094}
here=Tests/Benchmarks
. "$here/common.sh"
mkdir -p "$BENCH_DIR"

start_server() {  # start_server open|keyed: a server on a fresh database; KEY holds the agent key when keyed
  rm -f "$BENCH_DIR"/auth.db*
  local auth=(AUTH=auto)
  KEY=""
  if [ "$1" = keyed ]; then
    KEY=$("$BIN" keys create --name bench --role agent --db "$BENCH_DIR/auth.db" --env-file /nonexistent 2>/dev/null)
    auth=(AUTH=required)
  fi
  env URGENCYIQ_DB="$BENCH_DIR/auth.db" PER_IP_CONNECTION_LIMIT=0 "${auth[@]}" "$BIN" serve --port "$PORT" --log-format off \
    --env-file /nonexistent 2>"$BENCH_DIR/auth-serve.log" &
  SERVER=$!
  wait_for "http://127.0.0.1:$PORT/api/health"
}
stop_server() { kill -TERM "$SERVER"; wait "$SERVER" || true; }

# The wrk scripts, with the key as a header when there is one.
script() {  # script post|list KEY FILE
  {
    echo "local key = \"$2\""
    if [ "$1" = post ]; then
      sed 's/{ \["Content-Type"\] = "application\/json" }/headers()/' "$here/post.lua"
    else
      echo 'request = function() return wrk.format("GET", "/api/messages?limit=20", headers(), nil) end'
    fi
    cat "$here/report.lua"
  } > "$3"
  # headers() must exist before post.lua's request function runs: prepend it.
  sed -i '1a function headers() local h = { ["Content-Type"] = "application/json" } if key ~= "" then h["Authorization"] = "Bearer " .. key end return h end' "$3"
}

load() {  # load open|keyed post|list: prints "rps p99_ms"
  start_server "$1"
  script "$2" "$KEY" "$BENCH_DIR/auth_$2.lua"
  curl -fs -o /dev/null -w '' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/whoami" \
    || [ "$1" = open ] || { echo "the key does not work" >&2; exit 1; }
  [ "$2" = list ] && for i in $(seq 200); do
    curl -fs -o /dev/null ${KEY:+-H "Authorization: Bearer $KEY"} -H 'Content-Type: application/json' \
      -d "{\"user_id\": $i, \"message\": \"seed $i\"}" "http://127.0.0.1:$PORT/api/messages/send"
  done
  local result
  result=$(wrk -t2 -c64 -d"$DURATION" --timeout 10s -s "$BENCH_DIR/auth_$2.lua" "http://127.0.0.1:$PORT" | grep RESULT)
  stop_server
  echo "$2 $1: $result" >&2
  echo "$result" | sed -n 's/.*rps=\([0-9]*\).*p99_ms=\([0-9.]*\).*/\1 \2/p'
}

for kind in post list; do
  open_rates=(); open_p99=(); keyed_rates=(); keyed_p99=()
  for _ in $(seq "$RUNS"); do
    read -r rate p99 < <(load open "$kind"); open_rates+=("$rate"); open_p99+=("$p99")
    read -r rate p99 < <(load keyed "$kind"); keyed_rates+=("$rate"); keyed_p99+=("$p99")
  done
  awk -v kind="$kind" -v open="$(median "${open_rates[@]}")" -v keyed="$(median "${keyed_rates[@]}")" \
      -v openp="$(median "${open_p99[@]}")" -v keyedp="$(median "${keyed_p99[@]}")" -v runs="$RUNS" 'BEGIN {
    label = kind == "post" ? "POST /api/messages/send" : "GET /api/messages?limit=20"
    printf "%s, medians of %d: no keys %d/s (p99 %.1f ms), agent key %d/s (p99 %.1f ms): keyed/open %.2f\n",
      label, runs, open, openp, keyed, keyedp, keyed / open
  }'
done
