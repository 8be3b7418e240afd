# The README's two commands. Both set up .venv themselves, so a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/python -m gateway serve --demo --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed
	$(BIN)/ruff check gateway resolvers providers emulators store tests bench
	$(BIN)/ruff format --check gateway resolvers providers emulators store tests bench
	$(BIN)/mypy gateway resolvers providers emulators store

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
