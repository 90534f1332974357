# `make preview` and `make test` set up the virtualenv from the requirements on first use.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STACK ?= dev
BOOTSTRAP_PYTHON ?= python3

.PHONY: venv preview validate lint format test bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

preview: venv  ## Offline preview of a stack (STACK=dev by default)
	$(PYTHON) -m stacks preview $(STACK)

validate: venv  ## Validate every Pulumi.<stack>.yaml
	$(PYTHON) -m stacks validate

lint: venv
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format: venv
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

test: lint  ## Lint, then the whole test suite
	$(PYTHON) -m pytest

bench: venv  ## Benchmarks: rewrite docs/benchmarks.md (about 8 minutes; see benchmarks/)
	$(PYTHON) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
