#!/usr/bin/env bash
# make fuzz-api: property-based tests of the running server against its OpenAPI document with Schemathesis
# (examples, boundary and negative cases, random requests, and stateful sequences along the document's links).
# A release server on a throwaway SQLite database with the sample data, needing keys (the fuzzer sends an admin key). EXAMPLES=N per operation (default 100),
# SEED=N to replay a run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${BIN:-$root/.build/release/urgencyiq}
TOOLS=${TOOLS:-$root/.build/tools}
# absolute, since the run happens in a scratch directory
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
case $TOOLS in /*) ;; *) TOOLS=$PWD/$TOOLS ;; esac
PORT=${PORT:-5093}
work=$(mktemp -d /tmp/urgencyiq-fuzz.XXXXXX)
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$work"' EXIT

"$BIN" import --db "$work/fuzz.db" --env-file /nonexistent "$root/data/sample_messages.csv" >/dev/null 2>&1
# A copy of the rules: PUT /api/rules deploys whatever passes, and must never write into the repository.
cp -r "$root/rules" "$work/rules"
# Keys required, and an admin key for every request: each operation is reached past its role check, and the keys
# the fuzzer makes through POST /api/keys change nothing about who may call what.
KEY=$("$BIN" keys create --name fuzz --role admin --db "$work/fuzz.db" --env-file /nonexistent 2>/dev/null)
(cd "$root" && AUTH=required PER_IP_CONNECTION_LIMIT=0 exec "$BIN" serve --port "$PORT" --db "$work/fuzz.db" --rules "$work/rules" \
  --log-format off --env-file /nonexistent 2>"$work/serve.log") &
SERVER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null && break; sleep 0.05; done

seed=()
[ -n "${SEED:-}" ] && seed=(--seed "$SEED")
cd "$work"
"$TOOLS/bin/schemathesis" --config-file "$here/schemathesis.toml" run "http://127.0.0.1:$PORT/openapi.json" \
  --checks all --max-examples "${EXAMPLES:-100}" --header "Authorization: Bearer $KEY" "${seed[@]}"
status=$?
if grep -q 'Fatal\|crashed' "$work/serve.log"; then echo "the server crashed:"; cat "$work/serve.log"; exit 1; fi
exit $status
