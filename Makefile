# Two commands: `make demo` runs the product end to end, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export NOVEL_EVENTS_HOME ?= $(CURDIR)/.novel-events

.PHONY: demo up test lint typecheck check bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)  ## server + pool + 3 sample users + worker + one digest each; the UI stays up until Ctrl-C
	$(BIN)/novel-events demo

up: $(STAMP)  ## server + worker for real use (Ctrl-C stops)
	$(BIN)/novel-events up

test: $(STAMP)  ## lint, types, then every test (unit, adapters, flows, e2e)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/sync_bench.py

clean:
	rm -rf $(VENV) .novel-events .pytest_cache .mypy_cache .ruff_cache
