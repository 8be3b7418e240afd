# The README's two commands. Both set up .venv themselves, so a fresh clone needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint clean test-latest

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

# pytest-xdist workers: each is its own pytest session (own servers on free ports, own Redis,
# own temp dir); pytest-cov combines their coverage. COVERAGE_FLOOR is the figure the suite
# measures, rounded down: a change that drops coverage below it fails `make test`.
PYTEST_WORKERS ?= 2
COVERAGE_FLOOR := 93

test: lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) --cov --cov-report=term --cov-fail-under=$(COVERAGE_FLOOR)

# Not in CI: the compiled path's differential tests against the newest graphql-core and
# Strawberry, ignoring pyproject's pins, in a venv of their own. When they pass, the pins in
# pyproject.toml may move up to the versions it prints (README: Benchmarks, GraphQL execution).
LATEST := .venv-latest
test-latest:
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(LATEST)/bin/pip install --quiet -e '.[dev]'
	$(LATEST)/bin/pip install --quiet --upgrade graphql-core strawberry-graphql
	$(LATEST)/bin/pip list 2>/dev/null | grep -Ei '^(graphql-core|strawberry-graphql) '
	$(LATEST)/bin/pytest -p no:randomly tests/test_e2e_mutations.py tests/test_compiled_fence.py \
		tests/test_selects.py tests/test_compiled.py tests/test_documents.py

clean:
	rm -rf $(VENV) $(LATEST) .mypy_cache .pytest_cache .ruff_cache .hypothesis .coverage .coverage.*
