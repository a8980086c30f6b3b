# Every target creates .venv from the lock files on first use; nothing needs installing by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help demo serve test check lint format types contracts openapi lock bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements/dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP) ## Install, then run the end-to-end demo on a fresh embedded SQLite file
	$(BIN)/baobab demo

serve: $(STAMP) ## Run every block in one process on ./var/baobab.db
	$(BIN)/baobab serve

test: $(STAMP) ## Install, then run the test suite (SQLite and PostgreSQL) with coverage
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

check: lint types contracts openapi ## Every static quality gate

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: $(STAMP) ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

types: $(STAMP) ## mypy --strict over src, tests and bench
	$(BIN)/mypy

contracts: $(STAMP) ## import-linter: the dependency rule of docs/architecture.md
	$(BIN)/lint-imports

openapi: $(STAMP) ## Fail when a committed OpenAPI document differs from the code
	$(BIN)/baobab openapi --check docs/openapi

lock: ## Re-pin every dependency (needs uv)
	uv pip compile pyproject.toml requirements/build.in --python-version 3.11 --generate-hashes -o requirements/runtime.lock
	uv pip compile pyproject.toml requirements/build.in --extra dev --python-version 3.11 --generate-hashes -o requirements/dev.lock
	uv pip compile pyproject.toml requirements/build.in --extra dev --extra bench --python-version 3.11 --generate-hashes -o requirements/bench.lock

bench: $(STAMP) ## Install the benchmark peers (Splink, FEBRL), then every benchmark in quick mode
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements/bench.lock
	for b in bench/[a-z]*.py; do $(BIN)/python -m bench.$$(basename $$b .py) --quick || exit 1; done

clean: ## Remove the virtual environment and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
