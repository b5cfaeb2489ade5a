# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TOOLS := $(VENV)/.installed-tools

.PHONY: test lint typecheck check rehearse admin clean

# What `make run` and `make test` need (requirements-dev.txt); the linters, cfn-lint,
# Schemathesis and Playwright (requirements-tools.txt) only with the targets that use them.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Gatehouse needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

$(TOOLS): $(STAMP) requirements-tools.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt -c requirements-dev.txt
	@touch $(TOOLS)

# The distribution (wheel and sdist) in dist/, offline: the example app's
# requirements.txt names the wheel, as a user's project does.
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' gatehouse/__init__.py)
WHEEL := dist/gatehouse_chalice-$(VERSION)-py3-none-any.whl
.PHONY: wheel dist
wheel: $(WHEEL)
$(WHEEL): $(STAMP) pyproject.toml $(shell find gatehouse -type f -not -name '*.pyc' 2>/dev/null)
	rm -rf dist/gatehouse_chalice-*.whl build/lib  # build/lib would ship deleted modules again
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

# `make run` (in gatehouse.mk): the embedded AWS + chalice local (stage dev); `make run
# PORT=9000` for another port (the embedded AWS takes the next one, or AWS_PORT). Data is
# kept in .gatehouse/ between runs: `make run FRESH=1` (or `make reset`) starts empty.
# `make run HOST=0.0.0.0` listens on the local network (a phone), with a warning. PORT,
# AWS_PORT, HOST and FRESH reach the command through the environment (make exports
# command-line variables). Plain `.venv/bin/chalice local` starts the same stack.

# Forget the local stack's saved data (users, sessions, notes, the dev signing key).
.PHONY: reset
reset:
	rm -rf .gatehouse

test: $(STAMP) $(WHEEL)
	$(PY) -m pytest -n 2 --dist loadfile

# A quick check for newcomers and before a commit (well under a minute): README's
# examples against a fresh local stack and one end-to-end login (tests marked smoke).
.PHONY: smoke
smoke: $(STAMP) $(WHEEL)
	$(PY) -m pytest -p no:randomly -m smoke tests/test_docs_examples.py tests/test_e2e.py

lint: $(TOOLS)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(TOOLS)
	$(PY) -m mypy --strict app.py chalicelib gatehouse bench
	$(PY) -m mypy --strict client/gatehouse_client

check: lint typecheck test

# run, package, deploy-check: what `gatehouse init` generates for every project
# (gatehouse.mk; `.venv/bin/gatehouse init --check` says whether it is current).
# `make run` is the embedded AWS + chalice local (stage dev), `make run PORT=8001` for
# another port; plain `.venv/bin/chalice local` starts the same stack.  `make package`
# writes the deployable stack into build/: the merge template (Gatehouse's resources, the
# app's declared tables and grants, the routes' integrations and CORS preflights), then
# Chalice's SAM template merged with it and the Lambda zip, then unchecked-hash .pyc for
# the Lambda runtime in the zip (docs/DEPLOY.md; `make package BYTECODE=0` leaves them out).
GATEHOUSE_PY := $(PY)
GATEHOUSE_DEPS := $(STAMP) $(WHEEL)
include gatehouse.mk
# cfn-lint comes with the tools.
deploy-check: $(TOOLS)

# The packaged stack run locally as it will be deployed (docs/DEPLOY.md, "Rehearse before
# deploying"): build/sam.json and build/deployment.zip alone, each function in its own
# process with only its role's permissions, behind a gateway that follows the template's
# API definition, and an end-to-end scenario over HTTP. Under a minute here.
rehearse: package
	$(PY) -m gatehouse.release.rehearsal build

# make admin ARGS='list-users'  (see docs/DEPLOY.md): acts on the stack `make run`
# started, else on AWS (credentials, region, --stack NAME or GATEHOUSE_* names).
admin: $(STAMP)
	@$(PY) -m gatehouse.admin $(ARGS)

# The benchmark figures against their targets (see docs/BENCHMARKS.md), about a minute.
# make bench BENCH_ARGS='--quick' | 'tests' (times make test) | 'clients' | '--all' | 'cold deployed warm'
.PHONY: bench
bench: $(STAMP) $(WHEEL)  # the zip figures package the wheel that requirements.txt names
	$(PY) -m bench $(BENCH_ARGS)

# Clients. test-js: client/'s pinned dev tools (npm ci, from package-lock.json),
# the TypeScript declarations against a strict typed usage file (tsc --noEmit), then the
# unit tests of client/gatehouse.js and the npm pack -> install -> import test (Node 20+).
# test-browser: Playwright driving Debian's Chromium (apt-get install -y chromium), never
# its own download.
.PHONY: test-js test-browser
test-js:
	cd client && npm ci --no-audit --no-fund --ignore-scripts
	cd client && npm run --silent typecheck
	cd client && node --test test/*.test.js

test-browser: $(TOOLS)
	$(PY) -m pytest tests/browser

# openapi.yaml is the API description; `make openapi` writes the copy the
# Lambda serves (chalicelib/openapi.json), `make test-api` runs Schemathesis against
# `make run`'s stack with it (about a minute; tests/api, deselected from `make test`).
.PHONY: openapi test-api
openapi: $(STAMP)
	$(PY) -m gatehouse.dev.openapi

# The dev stack as processes: data kept across restarts and auto-reloads, SIGTERM, start-up
# refusals in one line, a test run beside a running `make run` (tests marked devstack).
.PHONY: test-devstack
test-devstack: $(STAMP) $(WHEEL)
	$(PY) -m pytest -n 2 --dist loadfile -m devstack tests

# The rehearsal's own tests: the packaged stack passes it, and each way a deployment breaks
# (a permission, a module, a variable, a handler string) fails it naming the culprit.
.PHONY: test-rehearse
test-rehearse: $(STAMP) $(WHEEL)
	$(PY) -m pytest -n 2 --dist loadfile -m rehearsal tests/release/rehearsal

test-api: $(TOOLS)
	$(PY) -m pytest -m api tests/api

# A project made by `chalice new-project` adopts the wheel as the README says, in its own
# fresh virtualenv: local run, login, its own table, package and cfn-lint (tests/adopt,
# a minute or two, most of it pip); and this repository without its notes example.
.PHONY: test-adopt
test-adopt: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile -m adopt tests/adopt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
