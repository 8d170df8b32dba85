# The two commands a newcomer needs: `make demo` and `make test`.
# Everything runs from a project venv (.venv) with pinned dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ZIP := lambda/deployment-package.zip

.PHONY: venv package test lint demo bench clean

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

# Deterministic deployment zip for python3.13 / x86_64 (PY313=... picks the compiler).
package: $(STAMP)
	$(BIN)/python scripts/build_package.py --out $(ZIP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint package
	$(BIN)/python -m pytest

# The whole path locally: edge :8080 -> function (the zip) -> MRAP -> buckets.
demo: package
	$(BIN)/python -m local

bench: package
	$(BIN)/python bench/run.py --zip $(ZIP)

clean:
	rm -rf build $(ZIP) .pytest_cache .ruff_cache .hypothesis
