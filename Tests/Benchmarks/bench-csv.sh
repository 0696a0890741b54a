#!/usr/bin/env bash
# score --csv over 200,000 messages against the seed's Python scorer (Tests/Benchmarks/seed_scorer.py), in the
# same run, alternating, medians of 3 (make bench). Also checks that the seed profile gives the reference's
# numbers on every row.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BIN:-.build/release/urgencyiq}
BENCH_DIR=${BENCH_DIR:-/tmp/urgencyiq-bench}
ROWS=${ROWS:-200000}
mkdir -p "$BENCH_DIR"
input="$BENCH_DIR/score-$ROWS.csv"
if [ ! -f "$input" ]; then
  "$BIN" bench --print-corpus | python3 -c '
import csv, sys
lines = [line.rstrip("\n") for line in sys.stdin]
writer = csv.writer(sys.stdout, lineterminator="\n")
writer.writerow(["id", "message"])
for i in range(int(sys.argv[1])):
    writer.writerow([i + 1, "%s #%d" % (lines[i % len(lines)], i)])
' "$ROWS" > "$input"
fi
# seconds COMMAND…: its wall time (its own output to score-out.csv, its messages to score-err.log)
seconds() { sync; local TIMEFORMAT=%R; { time "$@" > "$BENCH_DIR/score-out.csv" 2> "$BENCH_DIR/score-err.log"; } 2>&1; }
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
python_times=(); default_times=(); seed_times=()
for _ in 1 2 3; do
  python_times+=("$(seconds python3 Tests/Benchmarks/seed_scorer.py "$input")")
  cp "$BENCH_DIR/score-out.csv" "$BENCH_DIR/score-python.csv"
  default_times+=("$(seconds "$BIN" score --csv "$input")")
  seed_times+=("$(seconds "$BIN" score --rules rules/profiles/seed --csv "$input")")
done
reference=$(median "${python_times[@]}")
python3 - "$BENCH_DIR/score-python.csv" "$BENCH_DIR/score-out.csv" <<'CHECK'
import csv, sys
a = [float(r["urgency"]) for r in csv.DictReader(open(sys.argv[1]))]
b = [float(r["urgency"]) for r in csv.DictReader(open(sys.argv[2]))]
same = sum(x == y for x, y in zip(a, b))
print(f"seed profile vs the Python reference: {same} of {len(a)} rows give the same urgency")
CHECK
for profile in default seed; do
  if [ "$profile" = default ]; then t=$(median "${default_times[@]}"); else t=$(median "${seed_times[@]}"); fi
  echo "score --csv, $ROWS messages, $profile profile: median $t s; the seed's Python scorer: median $reference s; $(awk -v r="$reference" -v t="$t" 'BEGIN { printf "%.1f", r / t }')x as fast (goal 10x)"
done
