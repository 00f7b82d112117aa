# Two commands for a new machine: `make run` and `make test`.
# Each bootstraps .venv from the pinned lock file first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv chromium

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

# Browser tests drive Debian's chromium; install it when we can (root with apt), else they skip.
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium is not installed: browser tests will be skipped"

test: $(STAMP) lint chromium
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
