# k8s-service-optimizer — developer entry points. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-16s %s\n", $$1, $$2}'

# ---------------------------------------------------------------------------------------- set-up
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: install
install: $(BIN)/.installed ## create .venv with the backend and its dev tools (idempotent)

dashboard/node_modules/.installed: dashboard/package.json dashboard/package-lock.json
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	touch $@

dashboard/dist/index.html: dashboard/node_modules/.installed $(shell find dashboard/src dashboard/public dashboard/index.html dashboard/vite.config.ts dashboard/tsconfig.json -type f 2>/dev/null)
	cd dashboard && npm run build --silent

.PHONY: dashboard
dashboard: dashboard/dist/index.html ## build the dashboard to dashboard/dist

.PHONY: dashboard-types
dashboard-types: install dashboard/node_modules/.installed ## regenerate dashboard/src/api-schema.ts from the OpenAPI document
	mkdir -p .data
	$(BIN)/python -c 'import json; from k8s_optimizer.app import create_app; print(json.dumps(create_app().openapi()))' > .data/openapi.json
	cd dashboard && npx --no-install openapi-typescript ../.data/openapi.json --output src/api-schema.ts

.PHONY: system-deps
system-deps: ## install nginx, chromium, prometheus, docker-compose (config check only) and the netfilter tools (rule tests) with apt-get when missing
	@missing=""; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v docker-compose >/dev/null || missing="$$missing docker-compose"; \
	for tool in iptables:iptables nft:nftables ipset:ipset nfacct:nfacct; do \
	  command -v $${tool%%:*} >/dev/null || [ -x /usr/sbin/$${tool%%:*} ] || missing="$$missing $${tool#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---------------------------------------------------------------------------------------- run
.PHONY: run
run: install dashboard ## embedded cluster + backend (:8080) + dashboard (:3000); Ctrl-C stops all
	$(BIN)/k8s-optimizer demo

.PHONY: run-prometheus
run-prometheus: install dashboard system-deps ## like run, with 14 days of backfilled history in a real Prometheus
	$(BIN)/k8s-optimizer demo --prometheus

.PHONY: sim
sim: install ## the embedded cluster alone on :6443, kubeconfig in .data/sim-kubeconfig.yaml
	$(BIN)/k8s-optimizer sim --scenario demo --kubeconfig-out .data/sim-kubeconfig.yaml

# ---------------------------------------------------------------------------------------- checks
.PHONY: lint
lint: install ## ruff, ruff format --check, mypy --strict, import-linter
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

.PHONY: format
format: install ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: pytest
pytest: install system-deps dashboard ## pytest: unit, integration, e2e
	$(BIN)/pytest $(PYTEST_ARGS)

.PHONY: dashboard-test
dashboard-test: dashboard/node_modules/.installed ## the dashboard's own tests (typecheck + vitest)
	cd dashboard && npm run --silent typecheck && npm test --silent

.PHONY: test
test: lint dashboard-test pytest ## every check: what CI runs

.PHONY: bench
bench: install ## benchmarks at cluster scale -> bench/results/latest.json
	$(BIN)/python -m bench

.PHONY: clean
clean: ## remove build output and local state
	rm -rf .data dashboard/dist .mypy_cache .ruff_cache .pytest_cache

# kind / images / deploy targets live beside the manifests they drive
-include deploy/kind.mk
