# The two commands of the README:
#   make lab    set up .venv if needed, then open the course (JupyterLab on nbs/, 127.0.0.1 only)
#   make test   set up .venv if needed, then run every test (what .ci/run calls); two pytest-xdist
#               workers, whole files per worker, so the browser test (one file, one browser session)
#               runs beside the rest
#   make docs   build the static HTML site of the course into _site/ (math by a local MathJax)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# The browser test drives Debian's Chromium with Playwright (never `playwright install`).
CHROMIUM := /usr/bin/chromium
# MathJax for the static site, from the npm registry, pinned, cached in build/ (git-ignored).
MATHJAX_VERSION := 3.2.2
MATHJAX := build/npm/node_modules/mathjax/es5/tex-chtml-full.js

.PHONY: lab test install sync chromium mathjax docs

install: $(STAMP)

# constraints.txt pins torch==2.13.0 (a CPU wheel) in the same pip command as the package,
# so pip never pulls a multi-GB CUDA build; the package itself asks only for torch>=2.0.
$(STAMP): setup.py settings.ini constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser $(ROOT_FLAG) \
	  --ServerApp.root_dir=nbs --LabApp.news_url=None

sync: $(STAMP)
	$(PY) tools/check_sync.py

# Installs Debian's chromium when it is missing: as root (CI) with apt-get; otherwise says how.
# Without it tests/test_browser.py fails under CI (CI=true) and is skipped, with a reason, elsewhere.
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium for the browser test (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "*** $(CHROMIUM) is missing and this is not root: run 'sudo apt-get install chromium'" \
	       "for the browser test (tests/test_browser.py)." >&2; \
	fi

$(MATHJAX):
	mkdir -p build/npm
	npm install --prefix build/npm --no-save --no-audit --no-fund --loglevel=error mathjax@$(MATHJAX_VERSION)
	test -f $(MATHJAX)

mathjax: $(MATHJAX)

docs: $(STAMP) $(MATHJAX)
	$(PY) tools/build_site.py --out _site

test: $(STAMP) chromium $(MATHJAX)
	$(PY) tools/check_sync.py
	$(PY) -m pytest -n 2 --dist loadfile
