#!/usr/bin/env bash
# The rules-at-scale growth curve (part of make bench): the seed profile with 1,000 … 1,000,000 extra keywords
# (two pseudo-words each; inline in urgency.lua, or in a keyword list file read by keywords.list) and 10 … 1,000
# extra regex modifiers (\b(a|b)\b.*\bc\b), and the default profile with 10,000 and 100,000 extra vocabulary
# phrases, all against the shipped rules in the same run. Per rule set: the CLI's load + one score (median of 3
# runs) and its peak RSS, the server's idle RSS (after start-up, 20 messages and its periodic release of free
# memory, which comes every 10 s), and the score-only rate as a share of
# the shipped rules' rate (urgencyiq bench --compare, median of 3 runs of 100,000 messages).
# Issue 18's goals: 100,000 keywords load < 1 s, server RSS < 96 MB, rate ≥ 0.80; 1,000 modifiers rate ≥ 0.50.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/urgencyiq}
BENCH_DIR=${BENCH_DIR:-/tmp/urgencyiq-bench}/rules-scale
PORT=${PORT:-5094}
here=Tests/Benchmarks
. "$here/common.sh"
rm -rf "$BENCH_DIR"
mkdir -p "$BENCH_DIR"

measure() {  # measure LABEL RULES_DIR COMPARE_DIR
  local label=$1 rules=$2 compare=$3 times=() peak=0
  for _ in 1 2 3; do
    local out
    out=$( { /usr/bin/time -f "%e %M" "$BIN" score --rules "$rules" "Why was my loan rejected? PLEASE help" >/dev/null; } 2>&1 | tail -1)
    times+=("$(echo "$out" | cut -d' ' -f1)")
    peak=$(echo "$out" | cut -d' ' -f2)
  done
  rm -f "$BENCH_DIR"/serve.db*
  "$BIN" serve --rules "$rules" --db "$BENCH_DIR/serve.db" --port "$PORT" --log-format off --env-file /nonexistent 2>/dev/null &
  local server=$!
  wait_for "http://127.0.0.1:$PORT/api/health" 30
  for i in $(seq 20); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/api/messages/send" -H 'Content-Type: application/json' \
      -d "{\"user_id\": $i, \"message\": \"Why was my loan rejected? PLEASE help $i\"}"
  done
  sleep 11  # idle: past the server's periodic release of the memory loading freed
  local rss
  rss=$(awk '/VmRSS/ { print $2 }' "/proc/$server/status")
  kill -TERM "$server"; wait "$server" || true
  local ratio
  ratio=$("$BIN" bench --rules "$rules" --compare "$compare" --messages 100000 --runs 3 --mode score 2>&1 | sed -n 's/.*ratio: \([0-9.]*\).*/\1/p')
  printf '%-34s %8.2f s %9.0f MB %11.0f MB %8s\n' "$label" "$(median "${times[@]}")" "$((peak / 1024))" "$((rss / 1024))" "$ratio"
}

printf '%-34s %10s %12s %14s %8s\n' "rule set" "load" "CLI peak" "server RSS" "rate"
measure "seed profile (shipped)" rules/profiles/seed rules/profiles/seed
for n in 1000 10000 100000; do
  python3 "$here/scaled_rules.py" "$BENCH_DIR/k$n" "$n" 0
  measure "+ $n keywords (inline)" "$BENCH_DIR/k$n" rules/profiles/seed
done
for n in 100000 1000000; do
  python3 "$here/scaled_rules.py" "$BENCH_DIR/list$n" "$n" 0 list
  measure "+ $n keywords (keywords.list)" "$BENCH_DIR/list$n" rules/profiles/seed
done
for m in 10 100 1000; do
  python3 "$here/scaled_rules.py" "$BENCH_DIR/m$m" 0 "$m"
  measure "+ $m regex modifiers" "$BENCH_DIR/m$m" rules/profiles/seed
done
measure "default profile (shipped)" rules rules
for n in 10000 100000; do
  python3 "$here/scaled_vocabulary.py" "$BENCH_DIR/d$n" "$n"
  measure "default + $n vocabulary phrases" "$BENCH_DIR/d$n" rules
done
python3 "$here/scaled_vocabulary.py" "$BENCH_DIR/dlist100000" 100000 list
measure "default + 100000 phrases (lexicon.list)" "$BENCH_DIR/dlist100000" rules
# A one-line edit of the 100,000-keyword rule set, from the file write to the new version serving.
"$BIN" bench --reload --rules "$BENCH_DIR/k100000" --runs 11 | tail -1 | sed 's/^/100,000 keywords: /'
