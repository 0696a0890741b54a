# Sourced by the benchmark scripts: what they share.

# median VALUE…: the median of the values (the mean of the middle two for an even count).
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# wait_for URL [SECONDS]: polls URL until it answers (default deadline 5 s); fails when it has not by then.
wait_for() {
  local deadline=$(( $(date +%s) + ${2:-5} ))
  until curl -fs "$1" >/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$1 did not answer" >&2; return 1; }
    sleep 0.05
  done
}
