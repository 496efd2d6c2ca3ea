# The two commands README.md promises: `make run` (the embedded hub) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The suite runs against the real PostgreSQL and Redis of the machine (override to point elsewhere).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: install system-deps run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Debian packages the suite drives for real: Chromium for the browser tests (Playwright uses it, no download).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "chromium is missing: browser tests will skip (sudo apt-get install chromium)"; fi; }

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py serve --host 127.0.0.1 --port 8000

test: install system-deps
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install  # each script uses its own database (see bench/README.md)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/timeline.py

clean:
	rm -rf $(VENV) var staticfiles
