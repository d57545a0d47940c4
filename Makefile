# The two commands of the README:
#   make lab    set up .venv if needed, then open the course (JupyterLab on nbs/, 127.0.0.1 only)
#   make test   set up .venv if needed, then run every test (what .ci/run calls)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test install sync

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

test: $(STAMP)
	$(PY) tools/check_sync.py
	$(PY) -m pytest
