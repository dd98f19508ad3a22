# `make demo` runs the product end to end, `make test` runs every test, `make unit` is the one-minute loop.
# Installs come from the lock files (requirements/*.txt, written by `make lock`), never from a fresh resolve.
PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed-stamp
UV       := $(BIN)/uv
LOCK     := requirements/lock.txt
DEV_LOCK := requirements/dev-lock.txt
PYTEST   := $(BIN)/pytest
export NOVEL_EVENTS_HOME ?= $(CURDIR)/.novel-events

.PHONY: help install lock lock-upgrade demo up test unit e2e postgres faults lint typecheck check format wheel bench clean

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

# The bootstrap needs only Python: a venv and the uv version the dev lock pins, from PyPI.
$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^uv==' $(DEV_LOCK))"

# --compile-bytecode: .pyc files at install (pip's default, not uv's), so every fresh interpreter (server,
# worker, CLI, a stock worker's run) loads them instead of compiling each module from source; with
# PYTHONDONTWRITEBYTECODE set nothing ever writes them later ('import prefect': 2.5 -> 1.3 CPU-s here).
$(STAMP): $(UV) $(DEV_LOCK) pyproject.toml
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python $(DEV_LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP)  ## .venv with the locked dependencies + the project (editable)

# Re-resolve after a change to pyproject.toml; keeps every pin that still fits (fast, small diffs).
# The runtime lock is the dev lock's subset, so both install the same versions.
UV_COMPILE := $(UV) pip compile pyproject.toml --quiet --universal --python-version 3.11 --custom-compile-command "make lock"
lock: $(UV)  ## re-resolve requirements/*.txt from pyproject.toml (keeps existing pins where possible)
	$(UV_COMPILE) --extra dev -o $(DEV_LOCK) $(LOCK_FLAGS)
	$(UV_COMPILE) --constraint $(DEV_LOCK) -o $(LOCK) $(LOCK_FLAGS)
	@echo "lock: $(LOCK) and $(DEV_LOCK) written; run 'make install'"

lock-upgrade:  ## like lock, but moves every pin to the newest version the bounds allow
	$(MAKE) lock LOCK_FLAGS=--upgrade

demo: $(STAMP)  ## server + pool + 3 sample users + worker + one digest each; the UI stays up until Ctrl-C
	$(BIN)/novel-events demo

up: $(STAMP)  ## server + worker for real use (Ctrl-C stops)
	$(BIN)/novel-events up

test: lint typecheck  ## lint, types, then every test (unit, adapters, PostgreSQL, real Prefect server + worker)
	$(PYTEST)

unit: $(STAMP)  ## every test that needs no Prefect server and no PostgreSQL (< 60 s)
	$(PYTEST) -m "not e2e and not postgres and not faults" -n auto --timeout=60 -q

e2e: $(STAMP)  ## tests with a real Prefect server and process worker
	$(PYTEST) -m e2e

postgres: $(STAMP)  ## tests against the local PostgreSQL (127.0.0.1:5432, database test)
	$(PYTEST) -m postgres

faults: $(STAMP)  ## the fault-injection suite alone (also part of `make test`): prints the table, docs/faults.md
	$(PYTEST) tests/faults -m faults

lint: $(STAMP)  ## ruff rules + ruff format (check only) + installed dependencies consistent (pip check)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(UV) pip check --quiet --python $(BIN)/python

typecheck: $(STAMP)  ## mypy on the rooms (config in pyproject.toml)
	$(BIN)/mypy

check: lint typecheck unit  ## the pre-commit loop: lint, types, unit tests

format: $(STAMP)  ## ruff format + import sorting (`make lint` fails on an unformatted file)
	$(BIN)/ruff format .
	$(BIN)/ruff check --select I --fix .

wheel: $(STAMP)  ## build dist/*.whl (tests/unit/test_packaging.py builds one and checks what it installs)
	rm -rf dist
	$(UV) build --wheel --no-build-isolation --quiet --out-dir dist

bench: $(STAMP)  ## the sync benchmark (the others: benchmarks/*.py, docs/*-benchmark.md)
	$(BIN)/python benchmarks/sync_bench.py

clean:
	rm -rf $(VENV) .novel-events .pytest_cache .mypy_cache .ruff_cache dist
