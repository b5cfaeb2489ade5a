# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `chalice package` needs a region even though it calls no AWS API.
PACKAGE_REGION ?= us-east-1
STAGE ?= prod

.PHONY: run test lint typecheck check package deploy-check admin clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Gatehouse needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# The distribution (wheel and sdist) in dist/, offline: the example app's
# requirements.txt names the wheel, as a user's project does.
VERSION = $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' gatehouse/__init__.py)
WHEEL := dist/gatehouse_chalice-$(VERSION)-py3-none-any.whl
.PHONY: wheel dist
wheel: $(WHEEL)
$(WHEEL): $(STAMP) pyproject.toml $(shell find gatehouse -type f -not -name '*.pyc' 2>/dev/null)
	rm -rf dist/gatehouse_chalice-*.whl
	$(PY) -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w dist .
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist .

# The embedded AWS + chalice local (stage dev); `make run PORT=9000` for another port
# (the embedded AWS takes the next one, or AWS_PORT). Data is kept in .gatehouse/
# between runs: `make run FRESH=1` (or `make reset`) starts empty. `make run HOST=0.0.0.0`
# listens on the local network (a phone), with a warning. PORT, AWS_PORT, HOST and FRESH
# reach the command through the environment (make exports command-line variables).
# Plain `.venv/bin/chalice local` starts the same stack.
run: $(STAMP)
	@$(PY) -m gatehouse.dev.run

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

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: $(STAMP)
	$(PY) -m mypy --strict app.py chalicelib gatehouse
	$(PY) -m mypy --strict client/gatehouse_client

check: lint typecheck test

# The deployable stack, in build/: first the merge template (build/merge.json:
# deploy/resources.json plus the auth function and every route's integration and
# CORS preflight, computed from the app's routes), then Chalice's SAM template merged
# with it and the Lambda zip (Linux wheels fetched by pip).
# Then unchecked-hash .pyc for the Lambda runtime go into build/deployment.zip,
# in place (docs/DEPLOY.md); `make package BYTECODE=0` ships the zip as Chalice built it.
BYTECODE ?= 1
package: $(STAMP) $(WHEEL)
	rm -rf build
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$(PACKAGE_REGION)} $(PY) -m gatehouse.release.template \
		--stage $(STAGE) build/merge.json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-$(PACKAGE_REGION)} $(VENV)/bin/chalice package \
		--stage $(STAGE) --merge-template build/merge.json build/
ifneq ($(BYTECODE),0)
	$(PY) -m gatehouse.release.bytecode build
endif

deploy-check: package
	$(VENV)/bin/cfn-lint build/sam.json

# make admin ARGS='list-users'  (see docs/DEPLOY.md): acts on the stack `make run`
# started, else on AWS (credentials, region, --stack NAME or GATEHOUSE_* names).
admin: $(STAMP)
	@$(PY) -m gatehouse.admin $(ARGS)

# The benchmark figures against their targets (see docs/BENCHMARKS.md), about a minute.
# make bench BENCH_ARGS='--quick' | 'tests' (times make test) | 'clients' | '--all' | 'cold deployed warm'
.PHONY: bench
bench: $(STAMP)
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

test-browser: $(STAMP)
	$(PY) -m pytest tests/browser

# openapi.yaml is the API description; `make openapi` writes the copy the
# Lambda serves (chalicelib/openapi.json), `make test-api` runs Schemathesis against
# `make run`'s stack with it (about a minute; tests/api, deselected from `make test`).
.PHONY: openapi test-api
openapi: $(STAMP)
	$(PY) -m gatehouse.dev.openapi

test-api: $(STAMP)
	$(PY) -m pytest -m api tests/api

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist
