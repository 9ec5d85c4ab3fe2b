# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   set up, then the closed loop on Dagster's daemon: months delivered one
#               by one, their requests sent to the service; loading, features, drift, retrains,
#               gated promotions, Bentos and hot swaps launched by sensors; then batch scores
#               and one prediction served over HTTP
#   make test   set up, then run the test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export MLOPS_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(MLOPS_DATA_DIR)/dagster_home
export DUCKDB_DATABASE ?= $(MLOPS_DATA_DIR)/warehouse.duckdb
export DO_NOT_TRACK := 1
export BENTOML_DO_NOT_TRACK := true
export WHYLOGS_NO_ANALYTICS := True

MATERIALIZE := $(BIN)/dagster asset materialize -m mlops_assets.definitions
# every month of the dataset, in one run (the partitioned assets build the range together);
# read from the dataset package when a target runs (after setup)
# (the venv's python; before set-up, the system's: the facts need the standard library only)
FACT = $(shell $(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m mlops_assets.demo.facts $(1))
MONTHS = $(call FACT,all-months)

.PHONY: setup setup-stack stack stack-down test-stack features demo dbt-build export-bento import-bento containerize test test-slow dev serve lint audit validate benchmark-features benchmark-training benchmark-reliability benchmark-stack

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# >>> pytorch
	# torch first, pinned: this version is a CPU wheel; a newer one pulls a multi-GB CUDA build
	$(BIN)/pip install --quiet torch==2.13.0
	# <<< pytorch
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(DAGSTER_HOME)/dagster.yaml: config/dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp $< $@

setup: $(BIN)/.installed $(DAGSTER_HOME)/dagster.yaml
	$(BIN)/dbt parse --quiet --no-partial-parse --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project

features: setup
	$(BIN)/dagster job execute -m mlops_assets.definitions -j build_features --tags '$(MONTHS)'

# The demo's own world, wiped and rebuilt by each demo; `make dev DATA=data/demo` browses it.
DEMO_DIR := $(CURDIR)/data/demo
DEMO_ENV := MLOPS_DATA_DIR=$(DEMO_DIR) DAGSTER_HOME=$(DEMO_DIR)/dagster_home DUCKDB_DATABASE=$(DEMO_DIR)/warehouse.duckdb
# months, traffic and injected drift: mlops_assets/dataset/demo.py (override with mlops-demo's flags)
DEMO_ARGS ?=

demo: setup
	# `dagster dev` (webserver + daemon) and `bentoml serve` on 127.0.0.1; then only the outside
	# world acts: a month's raw files land, its requests are sent to the service. Loading,
	# features, drift and quality checks, retrains, gated promotions, Bentos and hot swaps are
	# launched by sensors under the daemon; the timeline is read from the Dagster instance.
	$(DEMO_ENV) $(BIN)/mlops-demo $(DEMO_ARGS)
	$(DEMO_ENV) $(BIN)/mlops-registry list
	# The last month scored in batch with the production model, and one real served prediction.
	$(DEMO_ENV) $(MATERIALIZE) --select 'key:"batch_predictions"' --partition $(call FACT,last-served) > $(DEMO_DIR)/batch.log 2>&1
	$(DEMO_ENV) $(BIN)/python bento/ask_once.py

# dbt on its own (after `make features` loaded the raw tables): every model and test.
dbt-build: setup
	$(BIN)/dbt build --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project

# The delivery artifact: the latest Bento (built by the `bento` asset) as one file in dist/.
export-bento: setup
	mkdir -p dist
	BENTOML_HOME=$(MLOPS_DATA_DIR)/bentoml $(BIN)/bentoml export $(call FACT,model-name):latest dist/$(call FACT,model-name).bento

import-bento: setup
	BENTOML_HOME=$(MLOPS_DATA_DIR)/bentoml $(BIN)/bentoml import dist/$(call FACT,model-name).bento

# Needs a Docker engine (not on the development machine; GitHub's runners have one).
containerize: setup
	BENTOML_HOME=$(MLOPS_DATA_DIR)/bentoml $(BIN)/bentoml containerize $(call FACT,model-name):latest

serve: setup
	$(BIN)/bentoml serve service:PredictionService --working-dir bento --host 127.0.0.1 --port 3000

# The scale-out stack on 127.0.0.1 (mlops_assets/stack/): PostgreSQL for Dagster's storage,
# Redis as Celery's broker, moto's S3 server for step outputs, the registry, training sets,
# profiles and prediction logs, two Celery workers executing the steps; then the demo's loop on
# it, by configuration only (the stack's environment). It stays up: `. data/stack.env` then
# `dagster dev` browses it; `make stack-down` stops it.
STACK_DIR := $(MLOPS_DATA_DIR)/stack
STACK_DATA_DIR := $(MLOPS_DATA_DIR)/stack-data
setup-stack: setup
	@if [ -n "$$($(BIN)/python -c 'from mlops_assets.stack.services import missing_programs; print(*missing_programs())')" ]; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; fi
	$(BIN)/pip install --quiet -e '.[dev,stack]'

stack: setup-stack
	-$(BIN)/mlops-stack down --folder $(STACK_DIR)
	$(BIN)/mlops-stack up --folder $(STACK_DIR) --data-dir $(STACK_DATA_DIR) > $(STACK_DIR).env
	. $(STACK_DIR).env && $(BIN)/mlops-demo $(DEMO_ARGS) --port 3101 --ui-port 3071

stack-down: setup
	$(BIN)/mlops-stack down --folder $(STACK_DIR)

# The default suite (under 15 min on 2 cores). The `slow` tests (the loop under the real daemon,
# fault injection, fuzzing, load, full-year parity) run with `make test-slow`; CI runs both.
test: setup
	$(BIN)/pytest -m "not slow and not stack"

test-slow: setup
	$(BIN)/pytest -m "slow and not stack"

# The scale-out stack's tests: PostgreSQL and Redis from Debian (installed here as root).
test-stack: setup-stack
	$(BIN)/pytest -m stack

# `make dev DATA=data/demo` browses the demo's runs. Ctrl-C stops it within seconds even with a
# run in flight (mlops-dev cancels it through the run launcher; it ends CANCELED).
DATA ?= $(MLOPS_DATA_DIR)
dev: setup
	MLOPS_DATA_DIR=$(abspath $(DATA)) DAGSTER_HOME=$(abspath $(DATA))/dagster_home DUCKDB_DATABASE=$(abspath $(DATA))/warehouse.duckdb $(BIN)/mlops-dev --host 127.0.0.1

validate: setup
	$(BIN)/dagster definitions validate -w workspace.yaml

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Known advisories in the installed packages (PyPI's vulnerability data; needs pypi.org's JSON
# API, which CI's runners reach and the development machine does not). Torch is a local
# wheel, which that data does not know.
audit: setup
	$(BIN)/pip install --quiet pip-audit==2.10.1
	mkdir -p $(MLOPS_DATA_DIR)
	$(BIN)/pip freeze --exclude-editable > $(MLOPS_DATA_DIR)/requirements-audit.txt
	sed -i '/^torch==/d' $(MLOPS_DATA_DIR)/requirements-audit.txt  # [pytorch]
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r $(MLOPS_DATA_DIR)/requirements-audit.txt

benchmark-features: setup
	$(BIN)/python benchmarks/features.py

benchmark-training: setup
	$(BIN)/python benchmarks/training.py

# Overload and SIGTERM figures of the service (needs `make demo` first, and wrk).
benchmark-reliability: setup
	$(BIN)/python benchmarks/reliability.py --runs 3

# The retrain job on the scale-out stack vs the local default (docs/benchmarks.md).
benchmark-stack: setup-stack
	$(BIN)/python benchmarks/stack_overhead.py --runs 3
