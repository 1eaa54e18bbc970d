# Two entry points do all the set-up on a fresh machine (see README.md):
#   make demo   creates .venv, installs, runs the main job on SQLite
#   make test   creates .venv, installs with test tools, runs lint, types, tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_QUIET ?= -q

.PHONY: demo test lint install install-test browser clean

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

# The console's browser tests drive Debian's chromium (never a downloaded
# browser), with a CJK font for the pages' Chinese: installed when missing.
browser:
	@command -v chromium >/dev/null 2>&1 && dpkg -s fonts-wqy-zenhei >/dev/null 2>&1 || \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-wqy-zenhei

test: lint browser
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
