# The two commands of README.md. Both are idempotent: the venv is rebuilt only when
# pyproject.toml changes, and Toxiproxy is built only when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m harness.cli demo

lint: $(STAMP)
	$(BIN)/ruff check harness tests bench strategies
	$(BIN)/ruff format --check harness tests bench strategies

test: lint
	$(BIN)/python -m pytest -n auto

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
