#!/usr/bin/env bash
# Browser tests of the web console: bash Tests/Browser/run.sh .build/debug/urgencyiq [unittest args…]
#
# Starts BINARY on a free port with a fresh SQLite database (data/sample_messages.csv imported) and a copy of
# rules/ in a temporary directory, runs Tests/Browser/test_console.py in headless Chromium through selenium,
# and stops the server on exit. Two more servers, each with its own database and rules copy: one with an
# ADMIN_TOKEN, and one with AUTH=required and three API keys (read, agent, admin) made before it starts. Screenshots go to $SCREENSHOT_DIR (default: the temporary directory).
# Installs chromium and chromedriver with apt-get when missing, and selenium into .build/tools.
# The console is the one installed with BINARY (its resources bundle); to test the files being edited in
# Sources/Server/Resources/console without rebuilding, set CONSOLE_DIR=Sources/Server/Resources/console.
set -euo pipefail

SELENIUM_VERSION=4.27.1

if [ $# -lt 1 ]; then
  echo "usage: $0 PATH/TO/urgencyiq [unittest arguments, e.g. test_console.InboxTests]" >&2
  exit 2
fi
BINARY=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
[ -x "$BINARY" ] || { echo "run.sh: $BINARY is not an executable" >&2; exit 2; }

# Chromium and its driver.
if [ "$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi
chromium_bin=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
chromedriver_bin=$(command -v chromedriver || true)
if [ -z "$chromium_bin" ] || [ -z "$chromedriver_bin" ]; then
  echo "run.sh: installing chromium and chromium-driver" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
  chromium_bin=$(command -v chromium || command -v chromium-browser)
  chromedriver_bin=$(command -v chromedriver)
fi
export CHROME_BIN="$chromium_bin" CHROMEDRIVER_BIN="$chromedriver_bin"

# Selenium, in the project's tool venv.
VENV="$ROOT/.build/tools"
if [ ! -x "$VENV/bin/python3" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python3" -c "import selenium, sys; sys.exit(selenium.__version__ != '$SELENIUM_VERSION')" 2>/dev/null; then
  "$VENV/bin/pip" install -q "selenium==$SELENIUM_VERSION"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/uiq-browser.XXXXXX")
SERVER_PID=""
ADMIN_SERVER_PID=""
AUTH_SERVER_PID=""
stop() {
  local pid=$1
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
}
cleanup() {
  status=$?
  stop "$SERVER_PID"
  stop "$ADMIN_SERVER_PID"
  stop "$AUTH_SERVER_PID"
  if [ "$status" != 0 ] && [ -f "$TMP/server.log" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$TMP/server.log" >&2 || true
  fi
  if [ "$status" != 0 ] && [ -s "$TMP/auth/server.log" ]; then
    echo "--- AUTH=required server log (last 20 lines) ---" >&2
    tail -n 20 "$TMP/auth/server.log" >&2 || true
  fi
  if [ -z "${KEEP_TMP:-}" ]; then rm -rf "$TMP"; fi
  exit "$status"
}
trap cleanup EXIT INT TERM

if [ -n "${CONSOLE_DIR:-}" ]; then
  CONSOLE_DIR=$(cd "$CONSOLE_DIR" && pwd)
  export CONSOLE_DIR
  echo "run.sh: serving the console from $CONSOLE_DIR" >&2
fi

cp -r "$ROOT/rules" "$TMP/rules"
"$BINARY" import "$ROOT/data/sample_messages.csv" --db "$TMP/urgencyiq.db" --rules "$TMP/rules" >"$TMP/import.log" 2>&1 \
  || { cat "$TMP/import.log" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
wait_healthy() { # BASE PID LOG
  local deadline=$((SECONDS + 60))
  until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/api/health", timeout=2)' "$1" >/dev/null 2>&1; do
    if ! kill -0 "$2" 2>/dev/null; then echo "run.sh: the server exited" >&2; cat "$3" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then echo "run.sh: $1 did not answer /api/health within 60 s" >&2; exit 1; fi
    sleep 0.2
  done
}

# The servers run from the repository root so that POST /api/rules/check finds data/golden and data/labelled.
# No .env file, and no admin token for the main server: the browser on loopback may use the admin endpoints.
: >"$TMP/empty.env"
PORT=$(free_port)
env -u ADMIN_TOKEN -u DATABASE_URL -u URGENCYIQ_DB -u URGENCYIQ_RULES -u RULES_GATE -u USE_LLM \
  "$BINARY" serve --db "$TMP/urgencyiq.db" --rules "$TMP/rules" --host 127.0.0.1 --port "$PORT" --log-format off \
  --env-file "$TMP/empty.env" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"

# A second server that wants an admin token, for the Settings token flow (its own database and rules copy).
ADMIN_TOKEN_VALUE="browser-test-$RANDOM$RANDOM"
mkdir -p "$TMP/admin"
cp -r "$ROOT/rules" "$TMP/admin/rules"
"$BINARY" import "$ROOT/data/sample_messages.csv" --db "$TMP/admin/urgencyiq.db" --rules "$TMP/admin/rules" >"$TMP/admin/import.log" 2>&1 \
  || { cat "$TMP/admin/import.log" >&2; exit 1; }
ADMIN_PORT=$(free_port)
env -u DATABASE_URL -u URGENCYIQ_DB -u URGENCYIQ_RULES -u RULES_GATE -u USE_LLM ADMIN_TOKEN="$ADMIN_TOKEN_VALUE" \
  "$BINARY" serve --db "$TMP/admin/urgencyiq.db" --rules "$TMP/admin/rules" --host 127.0.0.1 --port "$ADMIN_PORT" \
  --log-format off --env-file "$TMP/empty.env" >"$TMP/admin/server.log" 2>&1 &
ADMIN_SERVER_PID=$!
ADMIN_BASE="http://127.0.0.1:$ADMIN_PORT"

# A third server with AUTH=required and three API keys (read, agent, admin), for the key prompt and what each
# role may do (its own database and rules copy). `keys create` prints the key alone on stdout.
mkdir -p "$TMP/auth"
cp -r "$ROOT/rules" "$TMP/auth/rules"
AUTH_DB="$TMP/auth/urgencyiq.db"
"$BINARY" import "$ROOT/data/sample_messages.csv" --db "$AUTH_DB" --rules "$TMP/auth/rules" >"$TMP/auth/import.log" 2>&1 \
  || { cat "$TMP/auth/import.log" >&2; exit 1; }
create_key() { # NAME ROLE
  env -u DATABASE_URL -u URGENCYIQ_DB "$BINARY" keys create --name "$1" --role "$2" --db "$AUTH_DB" \
    --env-file "$TMP/empty.env" 2>>"$TMP/auth/keys.log" || { cat "$TMP/auth/keys.log" >&2; exit 1; }
}
READ_KEY=$(create_key reader read)
AGENT_KEY=$(create_key alice agent)
ADMIN_KEY=$(create_key lead admin)
AUTH_PORT=$(free_port)
env -u ADMIN_TOKEN -u DATABASE_URL -u URGENCYIQ_DB -u URGENCYIQ_RULES -u RULES_GATE -u USE_LLM AUTH=required \
  "$BINARY" serve --db "$AUTH_DB" --rules "$TMP/auth/rules" --host 127.0.0.1 --port "$AUTH_PORT" \
  --log-format off --env-file "$TMP/empty.env" >"$TMP/auth/server.log" 2>&1 &
AUTH_SERVER_PID=$!
AUTH_BASE="http://127.0.0.1:$AUTH_PORT"

wait_healthy "$BASE" "$SERVER_PID" "$TMP/server.log"
wait_healthy "$ADMIN_BASE" "$ADMIN_SERVER_PID" "$TMP/admin/server.log"
wait_healthy "$AUTH_BASE" "$AUTH_SERVER_PID" "$TMP/auth/server.log"

if [ -z "${SCREENSHOT_DIR:-}" ]; then
  SCREENSHOT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/uiq-screenshots.XXXXXX")
  export SCREENSHOT_DIR
  echo "run.sh: screenshots go to $SCREENSHOT_DIR" >&2
fi
mkdir -p "$SCREENSHOT_DIR"

export PYTHONDONTWRITEBYTECODE=1
export UIQ_BASE_URL="$BASE" UIQ_ADMIN_BASE_URL="$ADMIN_BASE" UIQ_ADMIN_TOKEN="$ADMIN_TOKEN_VALUE"
# The tests create and revoke a throwaway key with the binary, on the AUTH=required server's database.
export UIQ_AUTH_BASE_URL="$AUTH_BASE" UIQ_READ_KEY="$READ_KEY" UIQ_AGENT_KEY="$AGENT_KEY" UIQ_ADMIN_KEY="$ADMIN_KEY" \
  UIQ_BINARY="$BINARY" UIQ_AUTH_DB="$AUTH_DB" UIQ_ENV_FILE="$TMP/empty.env"
cd "$ROOT/Tests/Browser"
if [ $# -gt 0 ]; then
  "$VENV/bin/python3" -m unittest -v "$@"
else
  "$VENV/bin/python3" -m unittest -v test_console
fi
