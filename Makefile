# The two commands a newcomer needs: `make demo` and `make test`.
# Everything runs from a project venv (.venv) with pinned dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
ZIP := lambda/deployment-package.zip

.PHONY: venv package test lint lint-template demo bench bench-load mutation deploy smoke destroy prune-versions clean
.PHONY: buckets destroy-buckets replication-check routes failover failback logs

venv: $(STAMP)

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
package: $(STAMP)
	$(BIN)/python scripts/build_package.py --out $(ZIP) $(PACKAGE_FLAGS)

demo test: PACKAGE_FLAGS := --allow-source-only

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# cfn-lint must report nothing; checkov no failed check that the template does not
# skip with a reason (Metadata.checkov.skip).
lint-template: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/cfn-lint cloudformation.template
	$(TOOLS)/bin/checkov -f cloudformation.template --quiet --compact --skip-download
	$(BIN)/cfn-lint buckets.template
	$(TOOLS)/bin/checkov -f buckets.template --quiet --compact --skip-download

test: lint lint-template package
	$(BIN)/python -m pytest

# The whole path locally: edge :PORT -> function (the zip) -> MRAP -> buckets; control on
# PORT+1. SITE=folder seeds both buckets from it (the farther one REPLICATION_DELAY s later).
# PARAMS="AllowVersionReads=yes AllowedResponseOverrides=response-content-type": template
# parameters, as at deploy time (docs/security.md).
PORT ?= 8080
SITE ?=
REPLICATION_DELAY ?= 5
PARAMS ?=
demo: package
	$(BIN)/python -m local --port $(PORT) --replication-delay $(REPLICATION_DELAY) $(if $(SITE),--site "$(SITE)") $(foreach p,$(PARAMS),--param "$(p)")

bench: package
	$(BIN)/python bench/run.py --zip $(ZIP)

# The local stand-in under load: 1,000 concurrent viewers, p99 at 200, peak RSS (README).
bench-load: package
	$(BIN)/python bench/load.py --zip $(ZIP)

# Mutation testing of the function and the verifier (mutmut; not part of `make test`).
# TARGETS="lambda" or "verifier" runs one; see CONTRIBUTING "Mutation testing".
mutation: $(STAMP)
	$(BIN)/python mutation/run.py $(TARGETS)

# The AWS path (needs the AWS CLI and credentials; see README "Deploy").
deploy: $(STAMP)
	scripts/deploy.sh

smoke:
	scripts/smoke.sh

destroy:
	scripts/destroy.sh

# Delete the function versions updates retained, once CloudFront has released them.
prune-versions:
	scripts/prune_versions.sh

# Operations (README "Operate"): content buckets, the MRAP's failover controls, the logs.
buckets: $(STAMP)
	scripts/buckets.sh

destroy-buckets: $(STAMP)
	scripts/destroy_buckets.sh

replication-check: $(STAMP)
	scripts/replication_check.sh

routes: $(STAMP)
	scripts/routes.sh show

failover: $(STAMP)
	scripts/routes.sh failover "$(TO)"

failback: $(STAMP)
	scripts/routes.sh failback

logs: $(STAMP)
	scripts/logs.sh

clean:
	rm -rf build $(ZIP) .pytest_cache .ruff_cache .hypothesis mutants
