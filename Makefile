# The README's commands. `make run` and `make test` install everything they need first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/marketplace
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/15

.PHONY: install run test lint format worker beat bench corpus-report migrate clean oauth-server

# The real OAuth server the broker's tests run against (npm oidc-provider), installed here so
# that nothing downloads while the tests run.
OAUTH_SERVER := tests/oauth_server
$(OAUTH_SERVER)/node_modules/.package-lock.json: $(OAUTH_SERVER)/package.json $(OAUTH_SERVER)/package-lock.json
	cd $(OAUTH_SERVER) && npm ci --no-audit --no-fund --loglevel=error

oauth-server: $(OAUTH_SERVER)/node_modules/.package-lock.json

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: install
	@$(BIN)/python manage.py migrate --noinput --verbosity 0
	@$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Marketplace: http://127.0.0.1:$(PORT)/   (Ctrl-C stops the web server and the worker)"
	@echo ""
	$(BIN)/honcho -f Procfile start -p $(PORT)

worker: install
	$(BIN)/celery -A marketplace worker --loglevel INFO

beat: install
	$(BIN)/celery -A marketplace beat --loglevel INFO

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint oauth-server
	@# The browser tests (tests/browser) drive Debian's Chromium through its chromedriver.
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "Installing chromium and chromium-driver for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	fi
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/python -m pytest

bench: install
	$(BIN)/python -m tests.benchmarks.bench_validation
	@# The catalog bench seeds 10,000 plugins into BENCH_DATABASE_URL (a database of its own).
	$(BIN)/python -m tests.benchmarks.bench_catalog
	@# One real worker validating the corpus (BENCH_INGEST_DATABASE_URL, recreated each run).
	$(BIN)/python -m tests.benchmarks.bench_ingest
	$(BIN)/python -m tests.sandbox.bench_render
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/python -m tests.benchmarks.bench_proxy
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/python -m pytest -q -s -p no:randomly tests/benchmarks/bench_fair_validation.py
	$(BIN)/python -m tests.benchmarks.bench_credentials
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/python -m tests.benchmarks.bench_pin
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	  $(BIN)/python -m tests.benchmarks.bench_consoles

corpus-report: install
	$(BIN)/python manage.py validate_corpus

clean:
	rm -rf $(VENV) data $(OAUTH_SERVER)/node_modules
