# Yutang: `make run` brings up the API with a demo brand; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run jobs test bench mutate install java clean-data infra-install need-brand synth deploy diff

run: install
	$(PY) -m devtools.run

# The app's scheduled jobs: JOB=<name> runs one now against a running `make run`; no JOB
# lists them with their schedules.
jobs: install
	$(PY) -m devtools.jobs $(JOB)

# Each pytest-xdist worker starts its own DynamoDB Local and sandbox; TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: install infra-install
	$(PY) -m pytest -n $(TEST_WORKERS)

bench: install
	$(PY) -m bench $(if $(SCENARIO),--scenario $(SCENARIO),)

# Not part of `make test`: breaks each critical condition in turn, in a copy of the tree, and
# runs the tests that guard it (devtools/mutate.py). MUTATIONS="name ..." runs some of them.
mutate: install
	$(PY) -m devtools.mutate $(MUTATIONS)

install: $(STAMP) node_modules/.installed java

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local runs on Java; install a headless JRE where none is found.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Java not found: installing a headless JRE with apt"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless; }

clean-data:
	rm -rf .data

# Infrastructure (infra/): one CloudFormation stack per brand, `Yutang-<brand>`, from
# infra/brands/<brand>.json. Its tools live in their own venv, never in the Lambda package.
INFRA_VENV := infra/.venv
INFRA_PY := $(INFRA_VENV)/bin/python
INFRA_STAMP := $(INFRA_VENV)/.installed

infra-install: $(INFRA_STAMP)

$(INFRA_STAMP): infra/requirements.txt requirements.txt
	test -x $(INFRA_PY) || python3 -m venv $(INFRA_VENV)
	$(INFRA_PY) -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

infra/node_modules/.installed: infra/package.json infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund --loglevel=error
	touch $@

need-brand:
	@test -n "$(BRAND)" || { echo "say which brand: BRAND=<brand> (brands:" \
	  "$$(ls infra/brands | sed 's/\.json$$//' | tr '\n' ' '))"; exit 2; }

# Offline: packages the app and writes infra/cdk.out/Yutang-<brand>.template.json. No AWS
# call is made; placeholder credentials keep any real ones on the machine out of it.
synth: need-brand infra-install
	cd infra && BRAND=$(BRAND) AWS_ACCESS_KEY_ID=offline-synth AWS_SECRET_ACCESS_KEY=offline-synth \
	  AWS_EC2_METADATA_DISABLED=true .venv/bin/python main.py

# Real deploys, with the operator's own AWS credentials (and a bootstrapped account/region).
deploy: need-brand infra-install infra/node_modules/.installed
	cd infra && BRAND=$(BRAND) node_modules/.bin/cdk deploy Yutang-$(BRAND) \
	  --require-approval broadening

diff: need-brand infra-install infra/node_modules/.installed
	cd infra && BRAND=$(BRAND) node_modules/.bin/cdk diff Yutang-$(BRAND)
