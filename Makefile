# Two commands: `make run` serves the app, `make test` runs every check CI runs.
# Both create and reuse the virtual environment .venv; with no DATABASE_URL they use the
# embedded PostgreSQL kept in .data/postgres.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Development runs are DEBUG unless the environment says otherwise.
export DEBUG ?= true
MANAGE := $(BIN)/python manage.py
# Production images install only the runtime requirements (REQUIREMENTS=requirements.txt).
REQUIREMENTS ?= requirements-dev.txt
WEB_CONCURRENCY ?= 2
GUNICORN_THREADS ?= 4

.PHONY: run worker serve test lint format install migrate seed reset stop check-migrations schema bench fuzz clean-db help
.PHONY: cluster cluster-stop cluster-status cluster-failover

help:
	@echo "make run     - install, migrate, seed and serve on http://$(HOST):$(PORT)"
	@echo "make test    - install, lint, check migrations and run the whole test suite"
	@echo "make worker  - run a job worker (production: as many as needed, on any machine reaching the database)"
	@echo "make serve   - migrate, collect static files, serve with gunicorn (production: set DEBUG=false, SECRET_KEY)"
	@echo "make reset   - delete every row and load the development data set again (asks; SEED_ARGS=--yes does not)"
	@echo "make stop    - stop the embedded PostgreSQL if a run left it running"
	@echo "make schema  - write the OpenAPI schema to docs/openapi.yaml (a test fails when it is not the code's)"
	@echo "make fuzz    - Schemathesis against the live server, make serve and make run settings, ADMIN and USER, seeds 1-3"
	@echo "make lint | format | migrate | seed | bench | clean-db"
	@echo "make cluster - primary + replica, PgBouncer, 2 app servers, HAProxy, worker on http://127.0.0.1:$(CLUSTER_PORT) (docs/SCALING.md)"
	@echo "make cluster-stop | cluster-status | cluster-failover"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changes.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS)
	touch $@

install: $(VENV)/.installed

migrate: install
	$(MANAGE) migrate --no-input

seed: migrate
	$(MANAGE) seed $(SEED_ARGS)

# Deletes every row first (asks to confirm; `make reset SEED_ARGS=--yes` does not ask).
reset: migrate
	$(MANAGE) seed --reset $(SEED_ARGS)

stop: install
	$(MANAGE) stopdb

# One process owns the run (manage.py devserver): it migrates, seeds, serves, runs a job worker, and on Ctrl-C
# or SIGTERM stops the server, the worker and the embedded PostgreSQL it started.
run: install
	$(MANAGE) devserver $(HOST):$(PORT)

# The app logs one line per request itself (gateway.request: route, status, time, database time), so
# gunicorn's access log stays off. The metrics of all workers are summed through PROMETHEUS_MULTIPROC_DIR,
# emptied at each start (docs/OBSERVABILITY.md).
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/.data/prometheus
serve: migrate
	$(MANAGE) collectstatic --no-input --verbosity 0
	rm -rf $(PROMETHEUS_MULTIPROC_DIR) && mkdir -p $(PROMETHEUS_MULTIPROC_DIR)
	PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) $(BIN)/gunicorn gateway.wsgi --bind $(HOST):$(PORT) \
		--workers $(WEB_CONCURRENCY) --threads $(GUNICORN_THREADS) --timeout 60

# A Procrastinate worker (docs/JOBS.md): runs queued, retried and periodic jobs; SIGTERM lets its running job
# finish (JOB_SHUTDOWN_GRACE_SECONDS). Start as many as the load needs; they share the queue in PostgreSQL.
# It does not migrate (several may start at once): the deploy's `make serve` or `make migrate` does.
worker: install
	$(MANAGE) worker

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install
	$(MANAGE) makemigrations --check --dry-run

# The browser tests leave a screenshot of each page they check here (git-ignored), for a reviewer to look at.
export BROWSER_SCREENSHOTS ?= $(CURDIR)/browser-screenshots
test: lint check-migrations
	$(BIN)/pytest $(PYTEST_ARGS)

# The committed schema clients generate from; gateway/tests/test_openapi_schema.py fails when it is stale.
schema: install
	$(MANAGE) spectacular --validate --fail-on-warn --file docs/openapi.yaml

# Builds (first time) or reuses the scale data set in its own database, gateway_bench: docs/PERFORMANCE.md.
bench: install
	$(BIN)/python -m bench all

# Schemathesis's CLI against the live server (fuzz/__main__.py): both server settings, both keys, three seeds, on a
# scratch database of its own, dropped at the end; each run's output goes to .data/fuzz/. FUZZ_ARGS narrows it (--help lists them).
fuzz: install
	$(BIN)/python -m fuzz $(FUZZ_ARGS)

clean-db:
	rm -rf .data/postgres


# The scaled-out topology on this machine (docs/SCALING.md): a primary and a streaming replica (the embedded
# PostgreSQL's programs), PgBouncer, Redis unless one runs on 127.0.0.1:6379, two app servers (gunicorn, DEBUG
# off, a SECRET_KEY made for the run), HAProxy on CLUSTER_PORT and a job worker, all under .data/cluster/.
# SYNCHRONOUS_STANDBY_NAMES= (empty) runs asynchronous replication; the failover drill then counts what it loses.
CLUSTER_PORT ?= 8100
SYNCHRONOUS_STANDBY_NAMES ?= replica1
cluster: install
	$(MANAGE) cluster start --port $(CLUSTER_PORT) --synchronous-standby-names '$(SYNCHRONOUS_STANDBY_NAMES)'

# Stops exactly the processes `make cluster` recorded (pid files and start times in .data/cluster/).
cluster-stop: install
	$(MANAGE) cluster stop

cluster-status: install
	$(MANAGE) cluster status

# Crash the primary, promote the replica, repoint PgBouncer; the app keeps serving through HAProxy.
cluster-failover: install
	$(MANAGE) cluster failover
