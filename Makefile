# Two commands for a new machine: `make run` and `make test`.
# Each bootstraps .venv from the pinned lock file first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv chromium translations

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
# fonts-noto-cjk: the UI is Chinese, and the screenshots the browser tests take need CJK glyphs.
chromium:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . ; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; } || \
	  echo "chromium (or a CJK font) is not installed: browser tests will be skipped or render boxes"

test: $(STAMP) lint chromium
	$(BIN)/pytest

# UI strings: extract from webapp/, merge into the zh_CN catalog (Babel's name for its folder: zh_Hans_CN;
# translate new entries in webapp/translations/zh_Hans_CN/LC_MESSAGES/messages.po), compile the .mo files
# (committed).
TRANSLATIONS := webapp/translations
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
	  --project complaintflow -o $(TRANSLATIONS)/messages.pot webapp
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l zh_Hans_CN --init-missing \
	  --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics

bench: $(STAMP)
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) instance .pytest_cache
