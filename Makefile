# UrgencyIQ: build, run, test and benchmark. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Swift toolchain lives in /opt/swift on our machines; use it when swift is not on the PATH.
export PATH := $(PATH):/opt/swift/usr/bin

# Debian packages the project builds and tests with (see README, "What it is built on").
DEB_PACKAGES := pkg-config curl jq liblua5.4-dev libpcre2-dev libvectorscan-dev libsqlite3-dev libmicrohttpd-dev libcurl4-openssl-dev libpq-dev postgresql postgresql-contrib
BIN := .build/release/urgencyiq
SEED_DIR ?= ../shared/seed
# Python tools the tests and fuzzing use, pinned, in a virtual environment of their own (PyPI): the OpenAPI
# validator, Schemathesis, and Prometheus' own client library, whose parser checks the /metrics output.
TOOLS := .build/tools
PY_TOOLS := openapi-spec-validator==0.9.0 schemathesis==4.32.5 prometheus_client==0.21.1

.PHONY: help deps tools build run test test-browser fuzz-api bench bench-http bench-postgres bench-events bench-webhooks bench-llm bench-auth bench-console bench-memory parity clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

deps: ## install the Debian packages that are missing (apt-get as root, sudo otherwise)
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	fi
	@command -v swift >/dev/null || { echo "swift not found (expected on the PATH or in /opt/swift)"; exit 1; }

tools: deps ## the pinned Python tools (OpenAPI validator, Schemathesis) in .build/tools
	@{ test -x $(TOOLS)/bin/schemathesis && $(TOOLS)/bin/python3 -c "import prometheus_client" 2>/dev/null; } || { \
	  python3 -m venv $(TOOLS) 2>/dev/null || { \
	    if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	    $$sudo apt-get install -y -qq python3-venv python3-pip >/dev/null && python3 -m venv $(TOOLS); }; \
	  $(TOOLS)/bin/pip install -q $(PY_TOOLS); }

build: deps ## build the release binary (and record the commit beside it for `urgencyiq --version`)
	swift build -c release
	@git rev-parse HEAD > $(BIN).commit 2>/dev/null || rm -f $(BIN).commit

run: build ## import the sample data (idempotent) and serve on http://127.0.0.1:5000 (SQLite: instance/urgencyiq.db)
	$(BIN) import data/sample_messages.csv
	$(BIN) serve

# The HTTP-level suites, run a second time against PostgreSQL (the store contract runs against both anyway).
HTTP_SUITES := APITests|AccessTests|AccessControlTests|OverdueTests|WebhookTests|ObservabilityTests|EventsTests|RulesDeployTests|ConsoleAssetsTests|BadInputTests|PaginationAndConcurrencyTests|HotReloadTests|LLMServerTests|LLMBackgroundTests|OpenAPIAgreementTests|RulesCheckLimitsTests

test: deps tools ## the whole suite (a throwaway PostgreSQL included), the HTTP suites again on PostgreSQL, the console in a real browser, the golden fixtures
	$(TOOLS)/bin/openapi-spec-validator Sources/Server/Resources/openapi.json
	swift build --build-tests
	swift test --skip-build
	URGENCYIQ_TEST_STORE=postgres swift test --skip-build --filter '$(HTTP_SUITES)'
	bash Tests/Browser/run.sh .build/debug/urgencyiq
	python3 Tests/Docs/readme_examples.py .build/debug/urgencyiq
	.build/debug/urgencyiq check
	.build/debug/urgencyiq check --rules rules/profiles/seed data/profiles/seed
	.build/debug/urgencyiq check --rules rules/profiles/seed-variant data/profiles/seed-variant

test-browser: deps tools ## the web console in headless Chromium (selenium): the scenarios of Tests/Browser/README.md
	swift build
	bash Tests/Browser/run.sh .build/debug/urgencyiq

fuzz-api: build tools ## Schemathesis over the OpenAPI document against a running server (EXAMPLES=100 per operation)
	BIN=$(BIN) TOOLS=$(TOOLS) Tests/Fuzz/fuzz-api.sh

bench: build ## scoring throughput, `check` over 100,000 fixtures, rule edit → serving latency, score --csv vs the seed's Python scorer, rules at scale (medians)
	$(BIN) bench --messages 300000 --runs 5 --compare rules/profiles/seed
	$(BIN) bench --messages 300000 --runs 5 --mode cores
	$(BIN) bench --fixtures 100000 --runs 5
	$(BIN) bench --reload --runs 21
	$(BIN) bench --reload --runs 21 --gate data/golden
	@command -v python3 >/dev/null && test -x /usr/bin/time && command -v curl >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq python3 time curl >/dev/null; }
	Tests/Benchmarks/bench-csv.sh
	Tests/Benchmarks/bench-rules-scale.sh

bench-http: build ## HTTP throughput and p99 with wrk (as shares of a trivial libmicrohttpd handler), list and search at 1,000,000 messages, startup time
	@command -v wrk >/dev/null && command -v cc >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq wrk curl gcc; }
	Tests/Benchmarks/bench-http.sh

bench-postgres: build ## the HTTP benchmark against a throwaway PostgreSQL server (same figures as bench-http)
	@command -v wrk >/dev/null && command -v cc >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq wrk curl gcc; }
	STORE=postgres Tests/Benchmarks/bench-http.sh

bench-events: build ## 1,000 idle subscribers of GET /api/events: CPU, memory, /api/health p99 while connected, fan-out time
	@command -v wrk >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; $$sudo apt-get install -y -qq wrk; }
	Tests/Benchmarks/bench-events.py $(BIN) 1000

bench-webhooks: build ## the POST load with webhooks off and on (every message delivered to a receiver on this machine)
	@command -v wrk >/dev/null && command -v cc >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq wrk curl gcc; }
	Tests/Benchmarks/bench-webhooks.sh

bench-llm: build ## the LLM step against a fake model answering in 0.3 s: POST load with the LLM off / in the background / inline, 200 messages refined at once
	@command -v wrk >/dev/null && command -v curl >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq wrk curl; }
	Tests/Benchmarks/bench-llm.sh

bench-auth: build ## what API keys cost: POST and list load without keys and with an agent key (looked up on every request), alternating
	@command -v wrk >/dev/null && command -v curl >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq wrk curl; }
	Tests/Benchmarks/bench-auth.sh

bench-console: build tools ## the console's first page over 1,000,000 tickets in headless Chromium (the database make bench-http builds)
	@test -f $${BENCH_DIR:-/tmp/urgencyiq-bench}/million.db || { echo "run make bench-http first: it builds the million-message database once"; exit 1; }
	@.build/tools/bin/python3 -c "import selenium" 2>/dev/null || .build/tools/bin/pip install -q selenium==4.27.1
	@command -v chromedriver >/dev/null || { if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi; \
	  $$sudo apt-get install -y -qq chromium chromium-driver >/dev/null; }
	.build/tools/bin/python3 Tests/Benchmarks/bench-console.py $(BIN) $${BENCH_DIR:-/tmp/urgencyiq-bench}/million.db 7

bench-memory: build ## resident memory through hostile rule checks and large listings (peak, after, steady)
	Tests/Benchmarks/bench-memory.py $(BIN)

parity: build ## compare the seed profile with the seed's own scores when ../shared/seed is present (nothing is copied)
	@for f in parity_real parity_synth; do \
	  test -f $(SEED_DIR)/$$f.csv || { echo "skipped: $(SEED_DIR)/$$f.csv not present"; continue; }; \
	  $(BIN) check --rules rules/profiles/seed --expected-column seed_score $(SEED_DIR)/$$f.csv | tail -1; done
	@for f in parity_variant_real parity_variant_synth; do \
	  test -f $(SEED_DIR)/$$f.csv || { echo "skipped: $(SEED_DIR)/$$f.csv not present"; continue; }; \
	  $(BIN) check --rules rules/profiles/seed-variant --expected-column seed_score $(SEED_DIR)/$$f.csv | tail -1; done

clean: ## remove build products
	swift package clean
