# Artnex: `make run` serves the product on embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Weights shipped beside the checkout (CI, development machines), used instead of downloading.
SHARED_MODELS := $(abspath $(CURDIR)/../shared/models)

.PHONY: install run test test-unit test-integration lint bench clean fuzz

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Local settings for manage.py and the stack (never committed); the environment wins over it.
.env:
	@if ls $(SHARED_MODELS)/*.pth >/dev/null 2>&1; then echo "ARTNEX_MODEL_DIR=$(SHARED_MODELS)" > $@; \
	else echo "# ARTNEX_MODEL_DIR=/path/to/weights (default: var/models, downloaded on first use)" > $@; fi

# Settings write nothing when imported: the var/ folders and the development secret key are
# made here, once (python -m artnex.local_setup; idempotent).
install: $(VENV)/.installed .env
	$(PY) -m artnex.local_setup

# The Procfile's processes (web on $(PORT), worker, beat, housekeeping), run by honcho as in production;
# Ctrl-C stops them all.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	PATH="$(abspath $(VENV))/bin:$$PATH" PORT=$(PORT) exec $(VENV)/bin/honcho start --no-colour

# Unit tier on SQLite and an in-process task; then the integration tier (PostgreSQL, Redis,
# a real Celery worker) when those services answer. With ARTNEX_REQUIRE_INTEGRATION=1 (CI)
# a missing service fails the run instead of skipping the tier.
test: install
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)
	$(PY) -m artnex.integration_env -- $(PY) -m pytest -m integration $(PYTEST_ARGS)

# The schema fuzzing of `make test` (tests/upscale/test_schema_fuzz.py), with many more examples.
fuzz: install
	ARTNEX_FUZZ_EXAMPLES=$${ARTNEX_FUZZ_EXAMPLES:-1000} $(PY) -m pytest tests/upscale/test_schema_fuzz.py -q $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy

bench: install
	$(PY) bench/engine.py

clean:
	rm -rf var .pytest_cache
