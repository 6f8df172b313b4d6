# The two commands a fresh machine needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEV := DJANGO_DEBUG=true

.PHONY: install run test lint format schema bench clean

$(VENV)/.installed: pyproject.toml requirements.lock
	@echo "== Installing into $(VENV) (pinned by requirements.lock) =="
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --constraint requirements.lock --editable ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	@echo "== Migrating the SQLite database (var/db.sqlite3) =="
	$(DEV) $(PY) manage.py migrate --no-input
	@echo "== Loading demo data =="
	$(DEV) $(PY) manage.py load_demo
	@echo "== Serving on http://127.0.0.1:8000 (Ctrl-C stops) =="
	$(DEV) $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

schema: install
	$(DEV) $(PY) manage.py spectacular --file schema/openapi.yaml --validate --fail-on-warn

clean:
	rm -rf $(VENV) var staticfiles
