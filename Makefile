# The two commands of the README: `make up` (run everything locally) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# Prism serves the providers' OpenAPI specs for the contract tests (tests/channels); from npm.
# PostgreSQL 15 (.ci/postgres installs it with apt when missing) backs the store suites' second run.
# Chromium (.ci/install-chromium installs Debian's package when missing) runs the browser tests.
PRISM := .ci/node/node_modules/.bin/prism

.PHONY: up test install lint bench

$(BIN)/nurture: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(BIN)/nurture

$(PRISM):
	npm install --no-save --prefix .ci/node @stoplight/prism-cli@5

up: install
	$(BIN)/nurture up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(PRISM)
	bash .ci/install-chromium
	bash .ci/postgres
	$(BIN)/nurture cadence validate
	bash .ci/pytest-guarded $(BIN)/pytest

# Each benchmark prints its own table and adds its target rows to one file; the summary prints
# every ratio against its target in one table.
bench: export NURTURE_BENCH_RESULTS := $(CURDIR)/data/bench-results.jsonl
bench: install
	mkdir -p data && rm -f $(NURTURE_BENCH_RESULTS)
	$(BIN)/python -m bench.enrollment
	$(BIN)/python -m bench.touches
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.sleeping
	$(BIN)/python -m bench.desk --tasks 100000 --reps 200
	$(BIN)/python -m bench.forecast --leads 4000
	$(BIN)/python -m bench.summary
