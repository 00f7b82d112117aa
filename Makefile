# Two commands for a new machine: `make run` and `make test`.
# Each bootstraps .venv from the pinned lock file first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	COMPLAINTFLOW_DEMO=1 $(BIN)/complaintflow db upgrade
	COMPLAINTFLOW_DEMO=1 $(BIN)/complaintflow serve

lint: $(STAMP)
	$(BIN)/ruff check engine webapp complaintflow tests bench

test: $(STAMP) lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
