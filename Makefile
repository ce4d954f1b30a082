# `make check` is exactly what CI runs (.ci/run). `make test` is the same, for the README.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run demo pg-demo test check lint unit bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/baton serve --demo

demo: install
	$(BIN)/baton demo

pg-demo: install
	BIN=$(BIN) scripts/pg-demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: install
	$(BIN)/pytest -q tests/unit

check: lint
	$(BIN)/pytest -q

test: check

bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/engine_io.py
	$(BIN)/python bench/audit.py
	$(BIN)/python bench/agent_step.py
	$(BIN)/python bench/loghub.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/engine_floor.py
	$(BIN)/python bench/engine_pg.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .baton .pytest_cache .mypy_cache .ruff_cache
