# The team's memory: every routine task is a target. `make run` and `make test` are README's two commands.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BENCH   := .venv-bench
PYTEST_ARGS ?=

.PHONY: all run scenarios ingest serve sysdeps test e2e lint fix bench bench-ingest bench-api bench-twin \
	bench-scenarios bench-batch bench-site clean help

all: lint test

help:
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create the virtualenv and install the project with its dev tools

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

test: $(STAMP) sysdeps ## the whole test suite (unit, integration and end-to-end)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

e2e: $(STAMP) sysdeps ## only the end-to-end tests (live server, real clients)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fix: $(STAMP) ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BENCH)/.installed: pyproject.toml
	$(PY) -m venv $(BENCH)
	$(BENCH)/bin/pip install --quiet --upgrade pip
	$(BENCH)/bin/pip install --quiet -e '.[bench]'
	touch $@

bench: bench-ingest bench-api bench-twin bench-scenarios bench-batch bench-site ## every benchmark, us against the named peers, in one run

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

bench-site: $(STAMP)
	$(BIN)/python bench/bench_site.py

clean: ## remove published data and caches (not the virtualenvs)
	rm -rf data .pytest_cache .ruff_cache
