# The two commands README.md promises: `make run` (the embedded hub) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The suite runs against the real PostgreSQL and Redis of the machine (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# Processes the suite runs on (pytest-xdist); each has its own test database and Redis database (tests/workers.py).
TEST_WORKERS ?= 2

.PHONY: install system-deps run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the suite drives for real: Chromium for the browser tests (Playwright uses it, no download)
# and Prosody, the XMPP server the XMPP tests start.
DEBIAN_DEPS := chromium prosody lua-unbound
system-deps:
	@missing=""; for pkg in $(DEBIAN_DEPS); do dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing (browser/XMPP tests will skip; sudo apt-get install$$missing)"; fi; fi
	@# Node and the pinned npm packages of tests/servers/<folder>: the real OpenID Connect provider of the sign-in
	@# tests (oidc: oidc-provider), the second parser of the published feeds (feedcheck: feedparser)
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm; \
	  else echo "node/npm missing: OpenID Connect sign-in, second-parser feed and page audit tests will skip (sudo apt-get install nodejs npm)"; fi; }
	@# ... and of tests/audits: axe-core (run in every page of the look tests) and Lighthouse (on the timeline)
	@for pair in tests/servers/oidc:oidc-provider tests/servers/feedcheck:feedparser tests/audits:lighthouse; do \
	  folder=$${pair%%:*}; package=$${pair#*:}; \
	  if command -v npm >/dev/null 2>&1 && [ ! -d $$folder/node_modules/$$package ]; then \
	    (cd $$folder && npm ci --no-audit --no-fund --loglevel=error) || exit 1; fi; done

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py serve --host 127.0.0.1 --port 8000

test: install system-deps
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest -p tests.workers -n $(TEST_WORKERS) -m "not alone" --durations=25 $(PYTEST_ARGS) || [ $$? -eq 5 ]
	@# then the tests timed against the machine, on one process with nothing else running (exit 5: none selected)
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest -p tests.workers -m alone $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install  # each script uses its own database (see bench/README.md)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/timeline.py
	$(BIN)/python bench/xmpp_push.py

clean:
	rm -rf $(VENV) var staticfiles
