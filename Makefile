# The two commands a newcomer needs: `make demo` and `make test`.
# Everything runs from a project venv (.venv) with pinned dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
ZIP := lambda/deployment-package.zip

.PHONY: venv package test lint lint-template demo bench mutation deploy smoke destroy clean

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

# Deterministic deployment zip for python3.13 / x86_64 (PY313=... picks the compiler).
package: $(STAMP)
	$(BIN)/python scripts/build_package.py --out $(ZIP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# cfn-lint must report nothing; checkov no failed check that the template does not
# skip with a reason (Metadata.checkov.skip).
lint-template: $(STAMP) $(TOOLS_STAMP)
	$(BIN)/cfn-lint cloudformation.template
	$(TOOLS)/bin/checkov -f cloudformation.template --quiet --compact --skip-download

test: lint lint-template package
	$(BIN)/python -m pytest

# The whole path locally: edge :8080 -> function (the zip) -> MRAP -> buckets.
demo: package
	$(BIN)/python -m local

bench: package
	$(BIN)/python bench/run.py --zip $(ZIP)

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

clean:
	rm -rf build $(ZIP) .pytest_cache .ruff_cache .hypothesis mutants
