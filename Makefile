# The team's memory: every routine task is a target. `make run` and `make test` are README's two commands.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BENCH   := .venv-bench
PYTEST_ARGS ?=
# OpenMP workers that sleep instead of spinning (see twin/traffic/paths.py: THREAD_ENV).
export OMP_WAIT_POLICY ?= PASSIVE

# i18n targets: see api/site/i18n.py
.PHONY: i18n-extract i18n-compile i18n-check
.PHONY: all run scenarios ingest serve sysdeps lock test test-pg test-fast e2e fuzz lint fix bench bench-ingest bench-api bench-twin \
	bench-scenarios bench-batch bench-writes bench-site bench-load bench-hosts bench-dynamic clean help

all: lint test

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create the virtualenv and install the project with its dev tools (pinned by requirements.lock)

lock: ## re-pin requirements.lock from pyproject.toml (needs uv; CI and the Dockerfile install from it)
	uv pip compile pyproject.toml --extra postgres --extra s3 --extra redis --extra dask --extra dev --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --no-header --annotation-style line -o requirements.lock

run: $(STAMP) ## the main job: ingest the bundled municipality, run its scenarios, serve site + APIs
	$(BIN)/civic ingest
	$(BIN)/civic datasets
	$(MAKE) scenarios
	$(BIN)/civic serve

scenarios: $(STAMP) ## run (and publish) every bundled scenario in datasets/scenarios/
	@for spec in datasets/scenarios/*.toml; do $(BIN)/civic twin run "$$spec" || exit 1; done

ingest: $(STAMP) ## ingest every bundled dataset (no serving)
	$(BIN)/civic ingest

serve: $(STAMP) ## serve the site and APIs on 127.0.0.1:8000
	$(BIN)/civic serve

sysdeps: ## Debian packages the tests use (ogr2ogr, chromium, wrk); installs only what is missing
	@bash .ci/sysdeps.sh

test: $(STAMP) sysdeps ## the whole test suite (unit, integration and end-to-end), then test-pg
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory test-pg

# The integration suite: the data APIs (OGC, CKAN, DCAT, SQL, downloads) and scenario writes
# through real servers, whose shared stores follow CIVIC_TEST_BACKEND (tests/backend.py).
INTEGRATION_TESTS := tests/api/ogc tests/api/catalog tests/api/test_scenarios_api.py \
	tests/api/test_scenario_drafts.py tests/opendata/query/test_sql_sandbox.py

test-pg: $(STAMP) sysdeps ## the integration suite again, on a PostgreSQL catalog and an S3 (moto) store
	CIVIC_TEST_BACKEND=pg-s3 $(BIN)/python -m pytest $(INTEGRATION_TESTS) $(PYTEST_ARGS)

# The pure parts: no live server, browser, worker process, Dask cluster or bundled-city scenario.
FAST_TESTS := tests/opendata/ingest tests/opendata/readers tests/opendata/query tests/opendata/store \
	tests/opendata/test_settings.py tests/twin/traffic tests/twin/impacts tests/api/ogc \
	tests/api/catalog tests/api/test_http.py tests/test_doctests.py

test-fast: $(STAMP) ## the inner loop: unit tests of the pure parts, under two minutes
	$(BIN)/python -m pytest -m "not e2e and not slow" $(FAST_TESTS) $(PYTEST_ARGS)

e2e: $(STAMP) sysdeps ## only the end-to-end tests (live server, real clients)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

# Hypothesis profile `fuzz` (tests/conftest.py): random, 20x the examples of CI's derandomised
# `ci` profile; failing examples are written to tests/hypothesis-db/ (commit them with the fix).
fuzz: $(STAMP) sysdeps ## the wide nightly-style run: every property-based test and schemathesis, many examples
	$(BIN)/python -m pytest -m "hypothesis or fuzz" --hypothesis-profile=fuzz $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint and format check, and the architecture's import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

I18N := api/site/translations

i18n-extract: $(STAMP) ## refresh the message template (messages.pot) from the site's code and templates
	$(BIN)/pybabel extract -F babel.cfg -k t -k N_ --no-location --sort-output --omit-header \
		-o $(I18N)/messages.pot .

i18n-compile: $(STAMP) ## compile the .po catalogs to the committed .mo files
	$(BIN)/pybabel compile -d $(I18N) -D messages --statistics

i18n-check: $(STAMP) ## every catalog has every message the code uses, with its placeholders and plurals
	$(BIN)/python -m pytest -q tests/api/site/test_i18n.py

fix: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BENCH)/.installed: pyproject.toml
	$(PY) -m venv $(BENCH)
	$(BENCH)/bin/pip install --quiet --upgrade pip
	$(BENCH)/bin/pip install --quiet -e '.[bench]'
	touch $@

bench: bench-ingest bench-api bench-twin bench-scenarios bench-batch bench-writes bench-site bench-load bench-hosts bench-dynamic ## every benchmark, us against the named peers, in one run

bench-ingest: $(STAMP)
	$(BIN)/python bench/bench_ingest.py

bench-api: $(STAMP) $(BENCH)/.installed
	$(BIN)/python bench/bench_api.py

bench-twin: $(STAMP) $(BENCH)/.installed
	$(BIN)/python bench/bench_assignment.py

bench-scenarios: $(STAMP)
	$(BIN)/python bench/bench_scenarios.py

bench-batch: $(STAMP)
	$(BIN)/python bench/bench_batch.py

bench-writes: $(STAMP) ## the first POST /api/scenarios after a server start (target < 200 ms), and warm
	$(BIN)/python bench/bench_writes.py

bench-site: $(STAMP)
	$(BIN)/python bench/bench_site.py

bench-load: $(STAMP) ## the default install (as `make run` serves it) under 64 clients for 60 s
	$(BIN)/python bench/bench_load.py

bench-hosts: $(STAMP) ## two API hosts behind a proxy on PostgreSQL + S3, one killed half way, 64 clients for 60 s
	$(BIN)/python bench/bench_hosts.py

bench-dynamic: $(STAMP) $(BENCH)/.installed ## the morning peak: our mesoscopic simulation against SUMO's meso
	$(BIN)/python bench/bench_dynamic.py

clean: ## remove published data and caches (not the virtualenvs)
	rm -rf data .pytest_cache .ruff_cache
