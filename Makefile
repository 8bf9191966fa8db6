# Vendorwatch: `make run` serves the app with demo data; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# A Python >= 3.12: $(PYTHON) if given, else the first suitable one on PATH (pyenv's
# 3.13 included). uv never downloads an interpreter.
PYTHON ?= $(shell for c in python3.13 python3.12 /root/.pyenv/versions/3.13.0/bin/python3 python3 python; do \
	command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$c; break; }; done)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv
UV_VERSION := 0.13.8
UV := var/uv/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
# make run PORT=8080: the server listens there, and the links in e-mails and webhooks
# (SITE_URL) point there too.
PORT ?= 8000

.PHONY: help install run test test-quick lint format check web worker clean bench

help:
	@echo "make run    - install, migrate, load demo data, serve on http://127.0.0.1:8000 (PORT=8080 for another) with a worker and beat"
	@echo "make test   - lint, migration and compose checks, then the whole test suite"
	@echo "make test-quick - the test suite without the fuzz runs, crawlers and 10,000-row tests (CI runs them: make test)"
	@echo "make bench  - the README's benchmark tables (needs DATABASE_URL=postgres://..., REDIS_URL, wrk)"
	@echo "make format - ruff format + fix"

$(UV):
	@test -n "$(PYTHON)" || { echo "Vendorwatch needs Python >= 3.12 (set PYTHON=/path/to/python3.12+)"; exit 1; }
	$(PYTHON) -m venv var/uv
	var/uv/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --python $(PYTHON) --quiet
	@touch $@

install: $(VENV)/.synced

run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Starting web on http://127.0.0.1:$(PORT) with a Celery worker and beat (Ctrl-C stops all)."
	@trap 'kill 0' INT TERM EXIT; \
	$(VENV)/bin/celery -A outsourcing worker --beat --loglevel=INFO --concurrency=2 --schedule=var/celerybeat-schedule & \
	$(PY) manage.py runserver 127.0.0.1:$(PORT) & \
	wait

lint: install
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: lint
	$(VENV)/bin/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=compose-config-check $(VENV)/bin/docker-compose -f docker-compose.yml config --quiet
	$(PY) .ci/audit.py uv.lock

# The suite runs on every core (pytest-xdist: a test database and a Redis database per
# worker), then the fault tests alone: they stop and restart PostgreSQL and Redis.
PYTEST_WORKERS ?= auto
test: check
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal --ignore=tests/faults
	$(VENV)/bin/pytest tests/faults

# For the edit-test loop only: skips what is marked fuzz or slow, which make test keeps.
test-quick: install
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not fuzz and not slow" --ignore=tests/faults

bench: install
	@[[ "$$DATABASE_URL" == postgres* && -n "$$REDIS_URL" ]] || { echo "make bench needs DATABASE_URL=postgres://... and REDIS_URL=redis://... (see README, Benchmarks)"; exit 2; }
	$(PY) bench/sweep.py --engagements 100000 --measured-org 10000
	$(PY) bench/load.py --clients 1,8,32

clean:
	rm -rf $(VENV) var
