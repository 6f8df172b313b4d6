# The two commands a fresh machine needs: `make run` and `make test`.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
DEV := DJANGO_DEBUG=true
PORT ?= 8000
export PORT
SERVE_ENV := DJANGO_DEBUG=false \
	DJANGO_ALLOWED_HOSTS=$${DJANGO_ALLOWED_HOSTS:-127.0.0.1,localhost} \
	DJANGO_SECURE_SSL_REDIRECT=$${DJANGO_SECURE_SSL_REDIRECT:-false} \
	DJANGO_SECURE_COOKIES=$${DJANGO_SECURE_COOKIES:-false}

.PHONY: install run serve secret-key test lint format schema bench clean

# Development: the run-time pins and the dev extras' (production installs requirements.lock only).
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock
	@echo "== Installing into $(VENV) (pinned by requirements.lock and requirements-dev.lock) =="
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --constraint requirements.lock \
		--constraint requirements-dev.lock --editable ".[dev]"
	touch $@

install: $(VENV)/.installed

run: install
	@echo "== Migrating the SQLite database (var/db.sqlite3) =="
	$(DEV) $(PY) manage.py migrate --no-input
	@echo "== Loading demo data =="
	$(DEV) $(PY) manage.py load_demo
	@echo "== Serving on http://127.0.0.1:$(PORT) (Ctrl-C stops) =="
	$(DEV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The production server on this machine: DEBUG off, gunicorn with gunicorn.conf.py. It needs
# DJANGO_SECRET_KEY; over plain HTTP on 127.0.0.1 it turns the HTTPS redirect and secure cookies
# off unless they are set.
serve: secret-key install
	@echo "== Migrating, collecting static files =="
	$(SERVE_ENV) $(PY) manage.py migrate --no-input
	$(SERVE_ENV) $(PY) manage.py collectstatic --no-input --verbosity 0
	@echo "== gunicorn on http://127.0.0.1:$(PORT) (DEBUG off; Ctrl-C stops) =="
	$(SERVE_ENV) $(VENV)/bin/gunicorn probely.wsgi

# First, before installing anything: make serve without a secret key says what it needs.
secret-key:
	@if [ -z "$$DJANGO_SECRET_KEY" ]; then \
	  echo "make serve runs with DEBUG off and needs DJANGO_SECRET_KEY, e.g."; \
	  echo "  DJANGO_SECRET_KEY=\$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))') make serve"; \
	  echo "Also read: API_KEY_PEPPER, DATABASE_URL, REDIS_URL, DJANGO_ALLOWED_HOSTS, PORT, WEB_CONCURRENCY,"; \
	  echo "METRICS_ENABLED, PROMETHEUS_MULTIPROC_DIR, LOG_FORMAT (README, Configuration)."; \
	  exit 2; \
	fi

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(DEV) $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# HTTP throughput and latency of this checkout (README, "Benchmarks"); needs wrk.
bench: install
	bench/http.sh

schema: install
	$(DEV) $(PY) manage.py spectacular --file schema/openapi.yaml --validate --fail-on-warn

clean:
	rm -rf $(VENV) var staticfiles
