# Two entry points do all the set-up on a fresh machine (see README.md):
#   make demo   creates .venv, installs, runs the main job on SQLite
#   make test   creates .venv, installs with test tools, runs lint, types, tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_QUIET ?= -q

.PHONY: demo test lint install install-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -c constraints.txt -e .

install-test: $(BIN)/python
	$(BIN)/pip install $(PIP_QUIET) -c constraints.txt -e '.[test]'

demo: install
	$(BIN)/orderledger demo

lint: install-test
	$(BIN)/ruff check orderledger tests bench
	$(BIN)/ruff format --check orderledger tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
