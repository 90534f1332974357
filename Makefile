# `make preview` and `make test` set up the virtualenv from the requirements on first use.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
STACK ?= dev
# Every shipped stack: one Pulumi.<stack>.yaml each. `make check STACKS=prod` checks one.
STACKS ?= $(sort $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml)))
CHECK_OUT ?= out/check
BOOTSTRAP_PYTHON ?= python3

.PHONY: venv preview validate check lint format test bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

preview: venv  ## Offline preview of a stack (STACK=dev by default), then its policy verdict in one line
	$(PYTHON) -m stacks preview $(STACK)
	@echo
	$(PYTHON) -m stacks check $(STACK) --summary

validate: venv  ## Validate every Pulumi.<stack>.yaml
	$(PYTHON) -m stacks validate

check: venv  ## Offline policy check of every stack; JSON, SARIF, JUnit and compliance reports in $(CHECK_OUT)/
	$(PYTHON) -m stacks check $(STACKS) \
		--json '$(CHECK_OUT)/{stack}.json' --sarif '$(CHECK_OUT)/{stack}.sarif' --junit '$(CHECK_OUT)/junit.xml' \
		--report '$(CHECK_OUT)/{stack}-compliance.md' --report '$(CHECK_OUT)/{stack}-compliance.html'

lint: venv
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format: venv
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

test: lint  ## Lint, then the whole test suite, on every core
	$(PYTHON) -m pytest -n auto

bench: venv  ## Benchmarks: rewrite docs/benchmarks.md (about 8 minutes; see benchmarks/)
	$(PYTHON) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
