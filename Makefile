# The two commands of the README: `make up` (run everything locally) and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: up test install lint bench

$(BIN)/nurture: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

install: $(BIN)/nurture

up: install
	$(BIN)/nurture up

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/nurture cadence validate
	bash .ci/pytest-guarded $(BIN)/pytest

bench: install
	$(BIN)/python -m bench.enrollment
	$(BIN)/python -m bench.touches
