# Yutang: `make run` brings up the API with a demo brand; `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench install java clean-data

run: install
	$(PY) -m devtools.run

test: install
	$(PY) -m pytest

bench: install
	$(PY) -m bench $(if $(SCENARIO),--scenario $(SCENARIO),)

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
