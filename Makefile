# The two commands of the README: `make demo` and `make test`. Each creates .venv when it is missing.
# Python: the first of python3.11, python3.12, python3.10, python3 on PATH that runs and is one of ACCEPTED
# (3.11 first: the version every measurement in docs/ was taken with); `make PYTHON=/path/to/python3.X` picks one.
ACCEPTED := 3.10 3.11 3.12
FITS   := import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))
PYTHON ?= $(shell for c in python3.11 python3.12 python3.10 python3; do $$c -c '$(FITS)' >/dev/null 2>&1 && { command -v $$c; break; }; done)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEB_STAMP := web/node_modules/.installed
EXTRAS := dev,yolo,tensorboard

.PHONY: demo test docs lint format install clean chromium python-check wheel

python-check:
	@test -n "$(PYTHON)" || { echo "error: no python3.11, python3.12, python3.10 or python3 of one of those versions on PATH; bodyscene needs Python $(ACCEPTED): install one, or run 'make PYTHON=/path/to/python3.X'"; exit 2; }
	@v=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); case " $(ACCEPTED) " in *" $$v "*) ;; \
	  *) echo "error: $(PYTHON) is Python $${v:-that does not run}; bodyscene needs Python $(ACCEPTED): run 'make PYTHON=/path/to/python3.X'"; exit 2;; esac

# One headless OpenCV: mediapipe pulls opencv-contrib-python and ultralytics opencv-python, GUI builds that share
# the cv2/ folder and need libGL + Qt. Remove them and reinstall the headless build over whatever they left; drop
# jax/jaxlib, which mediapipe declares but its segmenter never imports (docs/install.md).
$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory python-check PYTHON="$(PYTHON)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade -q pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	$(PY) -m pip uninstall -y -q opencv-python opencv-contrib-python jax jaxlib 2>/dev/null || true
	$(PY) -m pip install -q --force-reinstall --no-deps "$$($(PY) -c 'import importlib.metadata as m; print("opencv-python-headless==" + m.version("opencv-python-headless"))')"
	@touch $(STAMP)

# jsPsych + plugins for `bodyscene human-experiment`, pinned by web/package-lock.json (copied into each
# experiment folder and into the wheel; no CDN). Without npm the browser experiment is unavailable in a checkout
# and its tests skip.
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

# The test suite includes tests/test_docs.py, which builds the docs site strictly (broken links are errors) and
# tests/test_install.py, which builds the wheel and runs it outside the checkout.
test: $(STAMP) $(WEB_STAMP) chromium
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(PY) -m pytest

# The documentation site (docs/*.md) into site/; strict: any warning fails.
docs: $(STAMP)
	$(VENV)/bin/mkdocs build --strict

# dist/bodyscene-<version>-py3-none-any.whl, with the jsPsych files from web/node_modules inside.
wheel: $(STAMP) $(WEB_STAMP)
	$(PY) -m pip wheel --no-deps --no-build-isolation -w dist .

lint: $(STAMP)
	$(VENV)/bin/ruff check --fix src tests benchmarks
	$(VENV)/bin/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache web/node_modules site dist build
