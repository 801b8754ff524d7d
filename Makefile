# The two commands of the README: `make demo` and `make test`. Each creates .venv when it is missing.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed

.PHONY: demo test lint format install clean chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 2; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade -q pip
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

# jsPsych + plugins for `bodyscene human-experiment`, pinned by web/package-lock.json (copied into each
# experiment folder; no CDN). Without npm the browser experiment is unavailable and its tests skip.
$(WEB_STAMP): web/package.json web/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix web --no-audit --no-fund && touch $(WEB_STAMP); \
	else echo "note: npm not found; install Node.js + npm for the browser experiment (its tests skip)"; fi

# Debian's chromium drives tests/test_web_browser.py (via Playwright); installed only when we are root.
chromium:
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "note: no /usr/bin/chromium; run 'apt-get install chromium' as root (browser tests skip)"; fi; }

install: $(STAMP) $(WEB_STAMP)

demo: $(STAMP)
	$(VENV)/bin/bodyscene demo --out runs/demo

test: $(STAMP) $(WEB_STAMP) chromium
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache web/node_modules
