# The two commands a newcomer needs: `make demo` and `make test` (`make` alone lists every target).
# Everything runs from a project venv (.venv) with pinned dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
ZIP := lambda/deployment-package.zip

.PHONY: help venv package test lint lint-template demo bench bench-load bench-modes mutation preflight deploy smoke destroy prune-versions clean
.PHONY: buckets destroy-buckets replication-check routes failover failback logs

# `make` alone: every target with one line (each target's `## ` comment below).
help:
	@echo "make TARGET (settings as VAR=value, e.g. make demo PORT=9000):"
	@awk -F':.*## ' '/^[a-z][a-z-]*:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(STAMP) ## the project venv (.venv) with the pinned dev tools; other targets make it when needed

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# checkov pins an older botocore than ours, so it gets a venv of its own.
$(TOOLS_STAMP): requirements-tools.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	touch $(TOOLS_STAMP)

# Deterministic deployment zip for python3.13 / x86_64 (PY313=... picks the compiler;
# without one it fetches one with uv). Where no 3.13 can be had, make demo and make test
# go on with a zip of sources only after a warning; make package refuses that unless
# ALLOW_SLOW_COLD_START=1.
package: $(STAMP) ## build lambda/deployment-package.zip (only when its sources, settings or pins changed)
	$(BIN)/python scripts/build_package.py --out $(ZIP) --if-changed $(PACKAGE_FLAGS)

test: PACKAGE_FLAGS := --allow-source-only

lint: $(STAMP) ## ruff: lint and formatting of the Python code
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# cfn-lint must report nothing; checkov no failed check that the template does not
# skip with a reason (Metadata.checkov.skip).
lint-template: $(STAMP) $(TOOLS_STAMP) ## cfn-lint and checkov on both templates
	$(BIN)/cfn-lint cloudformation.template
	$(TOOLS)/bin/checkov -f cloudformation.template --quiet --compact --skip-download
	$(BIN)/cfn-lint buckets.template
	$(TOOLS)/bin/checkov -f buckets.template --quiet --compact --skip-download

# Parallel, two workers per core (pytest-xdist; a test file runs in one worker, so its module
# fixtures are built once), files in collection order (tests/conftest.py puts the longest
# first); the slowest tests are printed at the end, so a regression
# shows. TEST_JOBS=1 runs them in one process; PYTEST_ARGS="-k name" picks some.
# make lint-template's checks (cfn-lint, checkov on both templates) run as tests in
# tests/template, in parallel with the rest, not one after the other before them.
# Two workers per core: many tests wait (on subprocesses, loopback servers, timeouts),
# so twice the cores finishes sooner (measured: 2 min 57 s vs 3 min 16 s for -n 2).
TEST_JOBS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 2) * 2 )))
PYTEST_ARGS ?=
test: lint $(TOOLS_STAMP) package ## lint, build the zip, run every test in parallel (CONTRIBUTING: how long)
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder --durations=15 $(PYTEST_ARGS)

# The whole path locally: edge :PORT -> function (the zip) -> MRAP -> buckets; control on
# PORT+1. SITE=folder seeds both buckets from it (the farther one REPLICATION_DELAY s later).
# SIGNING=oac: no function, the edge signs as CloudFront's origin access control does.
# PARAMS="AllowVersionReads=yes AllowedResponseOverrides=response-content-type": template
# parameters, as at deploy time (docs/security.md).
PORT ?= 8080
SITE ?=
REPLICATION_DELAY ?= 5
PARAMS ?=
DEMO = $(BIN)/python -m local --port $(PORT) --replication-delay $(REPLICATION_DELAY) $(if $(SIGNING),--signing $(SIGNING)) $(if $(SITE),--site "$(SITE)") \
	$(foreach p,$(PARAMS),--param "$(p)")
# PORT, SITE, PARAMS and a busy port are checked before the (rare) zip build, not after it.
demo: $(STAMP) ## the whole path on 127.0.0.1:PORT (SITE=folder, PORT=8080, REPLICATION_DELAY=5, PARAMS='Key=value ...')
	@$(DEMO) --check-only
	$(BIN)/python scripts/build_package.py --out $(ZIP) --if-changed --allow-source-only
	$(DEMO)

bench: package ## the function's warm/cold latency against the public sample's pattern
	$(BIN)/python bench/run.py --zip $(ZIP)

# The local stand-in under load: 1,000 concurrent viewers, p99 at 200, peak RSS (docs/performance.md).
bench-load: package ## the local stand-in under 1,000 concurrent viewers
	$(BIN)/python bench/load.py --zip $(ZIP)

# Added latency of a cache miss per signing mode on the stand-in (docs/signing-modes.md).
bench-modes: package ## signing time of a cache miss per signing mode on the stand-in
	$(BIN)/python bench/signing_modes.py --zip $(ZIP)

# Mutation testing of the function and the verifier (mutmut; not part of `make test`).
# TARGETS="lambda" or "verifier" runs one; see CONTRIBUTING "Mutation testing".
mutation: $(STAMP) ## mutation testing of the function and the verifier (TARGETS=lambda or verifier)
	$(BIN)/python mutation/run.py $(TARGETS)

# The AWS path (needs the AWS CLI and credentials; see README "Deploy to AWS").
# SIGNING=lambda-edge|oac|auto picks who signs origin requests (docs/signing-modes.md);
# unset keeps the deployed stack's mode. make preflight says which one fits, reading only.
SIGNING ?=
deploy: $(STAMP) ## build, upload and deploy the stack to AWS (S3_BUCKET_ONE/TWO/DEPLOYABLES; SIGNING=auto|oac|lambda-edge)
	SIGNING="$(SIGNING)" scripts/deploy.sh

preflight: $(STAMP) ## which signing mode fits your buckets and distribution, and why (reads only)
	SIGNING="$(or $(SIGNING),auto)" scripts/preflight.sh

smoke: ## check the deployed stack through CloudFront with probe objects of its own
	scripts/smoke.sh

destroy: ## delete the stack, then its own packages (S3_BUCKET_DEPLOYABLES)
	scripts/destroy.sh

# Delete the function versions updates retained, once CloudFront has released them.
prune-versions: ## delete function versions CloudFront no longer runs
	scripts/prune_versions.sh

# Operations (docs/operations.md): content buckets, the MRAP's failover controls, the logs.
buckets: $(STAMP) ## two replicating content buckets for make deploy
	scripts/buckets.sh

destroy-buckets: $(STAMP) ## empty and delete the buckets make buckets made (CONFIRM=yes)
	scripts/destroy_buckets.sh

replication-check: $(STAMP) ## versioning and two-way replication of BUCKET_ONE/BUCKET_TWO in place?
	scripts/replication_check.sh

routes: $(STAMP) ## the MRAP's routes: bucket, Region, traffic dial (LOCAL_CONTROL=... for make demo's)
	scripts/routes.sh show

failover: $(STAMP) ## make TO=<bucket> the only active route; waits until S3 shows it
	scripts/routes.sh failover "$(TO)"

failback: $(STAMP) ## every route active again
	scripts/routes.sh failback

logs: $(STAMP) ## the function's log lines from every Region (SINCE=15m FILTER=... FOLLOW=1)
	scripts/logs.sh

clean: ## remove the build folder, the zip and the test caches (not the venvs)
	rm -rf build $(ZIP) $(ZIP).inputs .pytest_cache .ruff_cache .hypothesis mutants
