# mms-relay: every command a developer or CI needs. `make help` lists them.
# Each target installs what it needs itself (virtual environments from the pinned locks).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON := $(shell scripts/find-python)
VENVS := .venvs
UV := $(VENVS)/uv/bin/uv
APP_VENV := .venv
APP_PY := $(APP_VENV)/bin/python
SAM_VENV := $(VENVS)/sam
SAM := $(SAM_VENV)/bin/sam
MINISTACK_VENV := $(VENVS)/ministack
CHECKOV_VENV := $(VENVS)/checkov
# Not a venv: a folder holding what the Lambda runtime ships (boto3 and its dependencies).
LAMBDA_RUNTIME := $(VENVS)/lambda-runtime

# uv must not download interpreters (this machine reaches PyPI only) and must use our venv.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(APP_VENV)
export SAM_CLI_TELEMETRY := 0
# `sam build` cross-installs the layer with this pip; python3.13 on PATH serves the python3.13 runtime.
SAM_ENV := PATH="$(dir $(PYTHON)):$$PATH" LAYER_PIP="$(abspath $(SAM_VENV))/bin/python -m pip" AWS_DEFAULT_REGION=us-east-1

# The shared package, the local tooling and the repository root, for commands run outside pytest.
LOCAL_PATH := PYTHONPATH="layers/shared:local:."

# pytest exits 5 when it collected nothing: a run that tests nothing is a failure here.
define run_pytest
	$(APP_PY) -m pytest $(1) || { rc=$$?; [ $$rc -eq 5 ] && echo "pytest collected no tests in $(1): failing" >&2; exit $$rc; }
endef

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# ---------------------------------------------------------------- environments
$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(VENVS)/uv
	$(VENVS)/uv/bin/python -m pip install --quiet --require-hashes -r requirements/uv.txt
	touch $@

$(APP_VENV)/.synced: uv.lock pyproject.toml $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

$(SAM_VENV)/.synced: requirements/sam.txt $(UV)
	$(UV) venv --quiet --allow-existing --seed --python $(PYTHON) $(SAM_VENV)
	$(UV) pip sync --quiet --python $(SAM_VENV)/bin/python requirements/sam.txt
	touch $@

$(MINISTACK_VENV)/.synced: requirements/ministack.txt $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(MINISTACK_VENV)
	$(UV) pip sync --quiet --python $(MINISTACK_VENV)/bin/python requirements/ministack.txt
	touch $@

# The stand-in for the Lambda runtime's own packages, installed into a plain folder with the SAM
# venv's pip: the built-layer tests and `make invoke` put it on a function's path after the layer,
# where /var/runtime sits in AWS (requirements/lambda-runtime.in says which versions and why).
$(LAMBDA_RUNTIME)/.installed: requirements/lambda-runtime.txt $(SAM_VENV)/.synced
	rm -rf $(LAMBDA_RUNTIME)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		--only-binary=:all: --target $(LAMBDA_RUNTIME) -r requirements/lambda-runtime.txt
	touch $@

$(CHECKOV_VENV)/.synced: requirements/checkov.txt $(UV)
	$(UV) venv --quiet --allow-existing --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip sync --quiet --python $(CHECKOV_VENV)/bin/python requirements/checkov.txt
	touch $@

.PHONY: setup
setup: $(APP_VENV)/.synced $(SAM_VENV)/.synced $(MINISTACK_VENV)/.synced $(CHECKOV_VENV)/.synced $(LAMBDA_RUNTIME)/.installed ## create every venv from the locks

.PHONY: lock
lock: $(UV) ## re-resolve the locks and export the layer's requirements
	$(UV) lock
	$(UV) export --quiet --frozen --no-dev --no-emit-project --no-header -o layers/shared/requirements.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes requirements/sam.in -o requirements/sam.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes requirements/ministack.in -o requirements/ministack.txt
	$(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes requirements/checkov.in -o requirements/checkov.txt
	$(UV) pip compile --quiet --python-version 3.13 --generate-hashes requirements/lambda-runtime.in -o requirements/lambda-runtime.txt

.PHONY: schema
schema: $(APP_VENV)/.synced ## regenerate the job contract's JSON Schema and the relay's stored validator schema
	$(LOCAL_PATH) $(APP_PY) -m mmsrelay.outbound.schema schemas/outbound-job.schema.json \
		layers/shared/mmsrelay/outbound/job_core_schema.json

# ---------------------------------------------------------------- checks
.PHONY: lint
lint: $(APP_VENV)/.synced ## ruff lint and format check
	$(APP_VENV)/bin/ruff check .
	$(APP_VENV)/bin/ruff format --check .

.PHONY: format
format: $(APP_VENV)/.synced ## apply ruff fixes and formatting
	$(APP_VENV)/bin/ruff check --fix .
	$(APP_VENV)/bin/ruff format .

.PHONY: arch
arch: $(APP_VENV)/.synced ## import-linter: the layers depend one way (contracts in pyproject.toml)
	$(LOCAL_PATH) $(APP_VENV)/bin/lint-imports --no-cache

.PHONY: types
types: $(APP_VENV)/.synced ## mypy --strict
	$(APP_VENV)/bin/mypy

.PHONY: validate
validate: $(SAM_VENV)/.synced $(APP_VENV)/.synced ## sam validate --lint: the relay (defaults, every option on), the network
	$(SAM_ENV) $(SAM) validate --lint
	$(APP_PY) -m tests.template .aws-sam/validate/template.yaml
	$(SAM_ENV) $(SAM) validate --lint --template .aws-sam/validate/template.yaml
	$(SAM_ENV) $(SAM) validate --lint --config-env network

.PHONY: scan
scan: validate $(CHECKOV_VENV)/.synced ## IaC scan: cfn-lint's informational rules, checkov on the translated templates
	$(SAM_VENV)/bin/cfn-lint --include-checks I -- template.yaml .aws-sam/validate/template.yaml network/template.yaml
	AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/python scripts/translate_template.py template.yaml .aws-sam/scan/template.json
	AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/python scripts/translate_template.py .aws-sam/validate/template.yaml .aws-sam/scan/options-on.json
	cp network/template.yaml .aws-sam/scan/network.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --directory .aws-sam/scan

.PHONY: build
build: $(SAM_VENV)/.synced ## sam build (offline, no Docker)
	$(SAM_ENV) $(SAM) build

.PHONY: unit
unit: $(APP_VENV)/.synced ## unit tests (no network)
	$(call run_pytest,tests/unit)

.PHONY: integration
integration: $(APP_VENV)/.synced $(LAMBDA_RUNTIME)/.installed ## integration tests (moto, local peers on 127.0.0.1)
	$(call run_pytest,tests/integration)

.PHONY: system
system: setup ## system tests on the stack deployed to the local emulator
	$(call run_pytest,tests/system)

.PHONY: test
test: setup lint types arch validate scan build unit integration system ## everything CI runs

# ---------------------------------------------------------------- AWS
CONFIG_ENV ?= default

.PHONY: deploy
deploy: build ## deploy to AWS: CONFIG_ENV=default|prod (samconfig.toml), guided the first time
	PATH="$(dir $(PYTHON)):$$PATH" $(SAM_VENV)/bin/python scripts/deploy.py $(CONFIG_ENV)

# ---------------------------------------------------------------- local stack
.PHONY: demo
demo: setup ## bring the local stack up, run the main job, print what happened, tear down
	$(LOCAL_PATH) $(APP_PY) -m devstack demo

.PHONY: up
up: setup ## deploy the local stack and keep it running (Ctrl-C to stop)
	$(LOCAL_PATH) $(APP_PY) -m devstack up

.PHONY: invoke
invoke: $(APP_VENV)/.synced $(LAMBDA_RUNTIME)/.installed ## run one function of the running `make up` stack: FUNCTION=ReceiptFunction EVENT=events/dlr_post_word.json
	@if [ -z "$(FUNCTION)" ] || [ -z "$(EVENT)" ]; then \
		echo "usage: make invoke FUNCTION=<logical id or short name> EVENT=events/<file>.json (with make up running)" >&2; exit 2; fi
	@$(LOCAL_PATH) $(APP_PY) -m devstack invoke "$(FUNCTION)" "$(EVENT)"

.PHONY: fuzz
fuzz: setup ## generated requests (schemas/openapi.yaml), 5,000 per operation, on a local stack: prints figures
	$(LOCAL_PATH) $(APP_PY) -m fuzz $(FUZZ_ARGS)

.PHONY: bench
bench: setup ## benchmarks: print figures against their baselines (bench/README.md)
	$(LOCAL_PATH) $(APP_PY) -m bench

# ---------------------------------------------------------------- reliability runs (docs/reliability.md)
# Each deploys its own local stack with the gateway simulator, drives it and prints its figures.
.PHONY: reliability
reliability: setup ## every reliability run below, in turn (about 25 minutes)
	$(LOCAL_PATH) $(APP_PY) -m reliability

.PHONY: soak
soak: setup ## 1,000 outbound jobs while the gateway fails one attempt in five: lost jobs, duplicates, time to drain
	$(LOCAL_PATH) $(APP_PY) -m reliability soak

.PHONY: crashes
crashes: setup ## the outbound function killed at three points, the emulator restarted: lost jobs, duplicates
	$(LOCAL_PATH) $(APP_PY) -m reliability crashes

.PHONY: outages
outages: setup ## DynamoDB and S3 down, then throttled, under MOs, jobs and receipts: nothing lost, no 2xx unstored
	$(LOCAL_PATH) $(APP_PY) -m reliability outages

.PHONY: mo-duplicates
mo-duplicates: setup ## 500 MOs posted three times at once, media failing: one item, media stored once
	$(LOCAL_PATH) $(APP_PY) -m reliability mo_duplicates

.PHONY: receipt-chaos
receipt-chaos: setup ## 500 messages' receipts shuffled, duplicated, early and late: every final status right
	$(LOCAL_PATH) $(APP_PY) -m reliability receipt_chaos

# ---------------------------------------------------------------- AWS
# Your AWS profile decides the account and region (SAM_ENV's us-east-1 is for offline commands).
.PHONY: network
network: $(SAM_VENV)/.synced ## deploy the VPC with fixed egress addresses (network/template.yaml) to AWS
	$(SAM) deploy --config-env network

.PHONY: clean
clean: ## remove build output (keeps the venvs)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

.PHONY: distclean
distclean: clean ## remove build output and every venv
	rm -rf $(APP_VENV) $(VENVS)
