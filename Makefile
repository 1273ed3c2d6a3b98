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

export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG := 4
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN := sqlite:///$(CURDIR)/.airflow/airflow.db
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= WARNING
export NO_PROXY := 127.0.0.1,localhost
export no_proxy := 127.0.0.1,localhost

TODAY := $(shell date -u +%Y-%m-%d)
AIRFLOW := $(BIN)/airflow
NEWSWATCH := $(BIN)/newswatch
FEEDS_POOL_SLOTS ?= 4

.PHONY: help install airflow-init browser-deps run test lint bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
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

browser-deps: ## Debian chromium + chromium-driver for the browser tests (installed when running as root)
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium and chromium-driver (Debian)"; \
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium not found and not root: browser tests will be skipped"; fi

test: airflow-init browser-deps ## run the whole test suite
	$(BIN)/pytest

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

clean: ## remove the virtualenv, Airflow home and generated warehouse files
	rm -rf $(VENV) $(AIRFLOW_HOME) warehouse/*.duckdb* warehouse/digests warehouse/landing
