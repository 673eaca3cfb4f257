# cabhunt: two commands set everything up -- `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
DEMO_DIR ?= demo-out

.PHONY: demo test lint typecheck unit venv bench clean spark-test

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install -q -c constraints.txt -e .
	touch $@

$(DEV_STAMP): $(STAMP)
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/cabhunt demo --out $(DEMO_DIR)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest -q -m "not spark"

test: $(DEV_STAMP) system-deps lint typecheck unit

# Debian tools the conformance and report tests compare against (cabextract, gcab, chromium).
system-deps:
	@bash scripts/system-deps.sh

spark-test: $(DEV_STAMP)
	$(PIP) install -q -c constraints.txt -e '.[spark]'
	$(BIN)/python -m pytest -q -m spark

bench: $(STAMP)
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
