# Factu. `make run` serves everything on the embedded defaults; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test test-fast test-schema-deep lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.txt
	@touch $@

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_triggers
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The tests that need neither PostgreSQL, Redis, a browser nor extra processes.
test-fast: install
	$(PY) -m pytest -m "not postgres and not redis and not browser and not slow" $(PYTEST_ARGS)

# schemathesis over both APIs, deep: 150 cases per operation and mode (`make test` runs the same
# test with SCHEMATHESIS_EXAMPLES, 60 by default). CI runs it after `make test`.
SCHEMA_DEEP_EXAMPLES ?= 150
test-schema-deep: install
	SCHEMATHESIS_EXAMPLES=$(SCHEMA_DEEP_EXAMPLES) $(PY) -m pytest $(PYTEST_ARGS) \
		tests/test_api_schema.py::test_every_operation_conforms_to_the_schema

# ruff, then the import contracts of pyproject.toml ([tool.importlinter]; docs/ARCHITECTURE.md).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Every bench/bench_*.py, full size (~15 min on 2 cores); BENCH_ARGS="--quick" for a minute's
# try, BENCH_ARGS="--only reads" for one. PostgreSQL: DATABASE_URL or .../factu_bench.
BENCH_ARGS ?=
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf .data .pytest_cache .import_linter_cache
