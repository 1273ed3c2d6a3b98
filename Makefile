# newswatch: two commands do everything on a fresh machine with Python 3.11+.
#   make run    install, initialise Airflow + warehouse, run ingest then digest through Airflow
#   make test   install, then the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed

NEWSWATCH_AIRFLOW_HOME ?= $(CURDIR)/.airflow
NEWSWATCH_AIRFLOW_PORT ?= 8080
export AIRFLOW_HOME := $(NEWSWATCH_AIRFLOW_HOME)
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
# sized for 2 cores: a few task slots, one API worker
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 4
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(AIRFLOW_HOME)/airflow.db
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
export AIRFLOW__CORE__AUTH_MANAGER := airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE := $(AIRFLOW_HOME)/passwords.json
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL := http://127.0.0.1:$(NEWSWATCH_AIRFLOW_PORT)/execution/
export AIRFLOW__API__HOST := 127.0.0.1
export AIRFLOW__API__PORT := $(NEWSWATCH_AIRFLOW_PORT)
export AIRFLOW__API__BASE_URL := http://127.0.0.1:$(NEWSWATCH_AIRFLOW_PORT)
export AIRFLOW__API__WORKERS := 1
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL := 30
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

TODAY := $(shell date -u +%Y-%m-%d)
AIRFLOW := $(BIN)/airflow
NEWSWATCH := $(BIN)/newswatch
FEEDS_POOL_SLOTS ?= 4

.PHONY: help install airflow-init airflow airflow-stop browser-deps run test lint bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip --version > /dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade > /dev/null
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): requirements.lock pyproject.toml | $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(STAMP) ## create .venv and install the locked dependencies and the project

lock: | $(UV) ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml --extra dev -o requirements.lock

$(AIRFLOW_HOME)/.initialised: $(STAMP)
	mkdir -p $(AIRFLOW_HOME)
	$(AIRFLOW) db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || { cat $(AIRFLOW_HOME)/db-migrate.log; exit 1; }
	printf '{"warehouse": {"slots": 1, "description": "single DuckDB writer", "include_deferred": false},\n "feeds": {"slots": $(FEEDS_POOL_SLOTS), "description": "concurrent feed polls", "include_deferred": false}}\n' > $(AIRFLOW_HOME)/pools.json
	$(AIRFLOW) pools import $(AIRFLOW_HOME)/pools.json > /dev/null
	$(BIN)/python -c "import secrets; print('AIRFLOW__API__SECRET_KEY=' + secrets.token_hex(32)); print('AIRFLOW__API_AUTH__JWT_SECRET=' + secrets.token_hex(32))" > $(AIRFLOW_HOME)/secrets.env
	chmod 600 $(AIRFLOW_HOME)/secrets.env
	touch $@

airflow-init: $(AIRFLOW_HOME)/.initialised ## migrate the Airflow metadata DB (SQLite) and create the pools

run: airflow-init ## ingest seeds + reachable feeds, then build today's digest, through Airflow
	@echo "== ingest (newswatch_ingest via airflow dags test)"
	@$(AIRFLOW) dags test newswatch_ingest > $(AIRFLOW_HOME)/last-ingest.log 2>&1 \
		|| { tail -n 60 $(AIRFLOW_HOME)/last-ingest.log; exit 1; }
	@grep -E '^run ' $(AIRFLOW_HOME)/last-ingest.log || true
	@echo "== digest (newswatch_digest via airflow dags test $(TODAY))"
	@$(AIRFLOW) dags test newswatch_digest $(TODAY) > $(AIRFLOW_HOME)/last-digest.log 2>&1 \
		|| { tail -n 60 $(AIRFLOW_HOME)/last-digest.log; exit 1; }
	@grep -E '^digest ' $(AIRFLOW_HOME)/last-digest.log || true
	@$(NEWSWATCH) status

AIRFLOW_PIDS := $(AIRFLOW_HOME)/pids
# the SMTP connection for the digest DAG and failure alerts comes from NEWSWATCH_SMTP_* when set
SMTP_CONN = {"conn_type": "smtp", "host": "$(NEWSWATCH_SMTP_HOST)", "port": $(or $(NEWSWATCH_SMTP_PORT),25), "login": "$(NEWSWATCH_SMTP_USER)", "password": "$(NEWSWATCH_SMTP_PASSWORD)", "extra": {"from_email": "$(or $(NEWSWATCH_MAIL_FROM),newswatch@localhost)", "disable_tls": $(if $(filter true True 1,$(NEWSWATCH_SMTP_STARTTLS)),false,true), "disable_ssl": $(if $(filter true True 1,$(NEWSWATCH_SMTP_SSL)),false,true)}}

airflow: airflow-init ## start api-server, scheduler, dag-processor, triggerer on 127.0.0.1:$NEWSWATCH_AIRFLOW_PORT
	@mkdir -p $(AIRFLOW_PIDS)
	@set -a; . $(AIRFLOW_HOME)/secrets.env; set +a; \
	if [ -n "$(NEWSWATCH_SMTP_HOST)" ]; then export AIRFLOW_CONN_SMTP_DEFAULT='$(SMTP_CONN)'; fi; \
	for component in api-server scheduler dag-processor triggerer; do \
		pidfile=$(AIRFLOW_PIDS)/$$component.pid; \
		if [ -f $$pidfile ] && kill -0 $$(cat $$pidfile) 2>/dev/null; then echo "$$component already running"; continue; fi; \
		setsid $(AIRFLOW) $$component > $(AIRFLOW_HOME)/$$component.log 2>&1 < /dev/null & echo $$! > $$pidfile; \
	done
	@for i in $$(seq 1 120); do \
		curl -fsS http://127.0.0.1:$(NEWSWATCH_AIRFLOW_PORT)/api/v2/monitor/health > /dev/null 2>&1 && break; sleep 1; \
	done; curl -fsS http://127.0.0.1:$(NEWSWATCH_AIRFLOW_PORT)/api/v2/monitor/health > /dev/null \
		|| { echo "Airflow did not become healthy; see $(AIRFLOW_HOME)/*.log"; tail -n 30 $(AIRFLOW_HOME)/api-server.log; exit 1; }
	@for i in $$(seq 1 30); do [ -s $(AIRFLOW_HOME)/passwords.json ] && break; sleep 1; done
	@echo "Airflow UI: http://127.0.0.1:$(NEWSWATCH_AIRFLOW_PORT)  user: admin  password: $$($(BIN)/python -c "import json; print(json.load(open('$(AIRFLOW_HOME)/passwords.json'))['admin'])")"
	@echo "(password kept in $(AIRFLOW_HOME)/passwords.json; stop with: make airflow-stop)"

airflow-stop: ## stop every Airflow process that make airflow started
	@for pidfile in $(AIRFLOW_PIDS)/*.pid; do \
		[ -f "$$pidfile" ] || continue; pid=$$(cat $$pidfile); \
		kill -TERM -- -$$pid 2>/dev/null || kill -TERM $$pid 2>/dev/null || true; \
		for i in $$(seq 1 30); do kill -0 $$pid 2>/dev/null || break; sleep 0.5; done; \
		kill -KILL -- -$$pid 2>/dev/null || true; rm -f $$pidfile; echo "stopped $$(basename $$pidfile .pid)"; \
	done

browser-deps: ## Debian chromium + chromium-driver for the browser tests (installed when running as root)
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver (Debian)"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium not found and not root: browser tests will be skipped"; fi

test: airflow-init browser-deps ## run the whole test suite
	$(BIN)/pytest

bench: $(STAMP) ## throughput per stage and at scale (NEWSWATCH_BENCH_SIZES, default 10000,100000) -> warehouse/bench/latest.json
	$(BIN)/python -m tests.bench.run

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

clean: ## remove the virtualenv, Airflow home and generated warehouse files
	rm -rf $(VENV) $(AIRFLOW_HOME) warehouse/*.duckdb* warehouse/digests warehouse/landing
