# kpi-cascade. The README's two commands: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := uv run --frozen
INFRA := $(UV) python -m kpi_localinfra
SERVICES := $(UV) python -m kpi_localinfra.processes
# Point everything at the local stack unless the caller already named running servers.
STACK_ENV = eval "$$($(INFRA) env)";

.PHONY: help bootstrap infra-up infra-down up down status test test-unit lint demo bench bench-scale security chaos chaos-cluster docs

help:  ## List the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

bootstrap:  ## Install uv, the Python workspace, PostgreSQL, Prometheus, Alertmanager, Kafka jars
	@scripts/bootstrap.sh

infra-up: bootstrap  ## Start PostgreSQL and Kafka (or use KPI_DATABASE_URL / KPI_KAFKA_BOOTSTRAP)
	@$(INFRA) up

infra-down:  ## Stop the PostgreSQL and Kafka that infra-up started
	@$(INFRA) down

up: infra-up  ## Start infrastructure, the local mail sink (unless KPI_SMTP_HOST is set) and the four services in the background; returns when ready
	@$(STACK_ENV) $(SERVICES) up

down:  ## Stop the services and the infrastructure; leaves no process behind
	@$(SERVICES) down
	@$(INFRA) down

status:  ## Show what is running
	@$(INFRA) status; $(STACK_ENV) $(SERVICES) status

lint:  ## ruff and mypy --strict
	@$(UV) ruff check .
	@$(UV) ruff format --check .
	@$(UV) mypy

test-unit: bootstrap  ## Unit tests only (start nothing)
	@$(UV) pytest tests/unit -q

test: infra-up  ## Every test against the real Kafka and PostgreSQL; a skipped test fails
	@$(STACK_ENV) $(UV) pytest -q

demo: infra-up  ## The main job, end to end
	@$(STACK_ENV) $(UV) python -m demo

bench: infra-up  ## Speed and memory figures, printed as one table (options: ARGS="--scale ...")
	@$(STACK_ENV) $(UV) python -m bench $(ARGS)

bench-scale: infra-up  ## Cost curves: 1 to 1,000 tenants of 50 KPIs, KPIs per metric, bytes per event
	@$(STACK_ENV) $(UV) python -m bench --scale

docs:  ## Regenerate docs/strategy-reference.md from the strategy JSON Schema
	@$(UV) python -m kpi_goals.reference > docs/strategy-reference.md.tmp
	@mv docs/strategy-reference.md.tmp docs/strategy-reference.md

chaos: bootstrap  ## Fault suite: kill and restart every service, Kafka and PostgreSQL under load (docs/chaos.md)
	@$(UV) python -m chaos

chaos-cluster: bootstrap  ## Fault suite on three Kafka brokers and service replicas: brokers by role, replica kills, evaluator scaling (docs/chaos.md)
	@$(UV) python -m chaos --cluster

security: infra-up  ## The security suite with a long schemathesis run (docs/security.md)
	@$(STACK_ENV) KPI_SECURITY_EXAMPLES=$${KPI_SECURITY_EXAMPLES:-100} KPI_SECURITY_COVERAGE=1 \
		$(UV) pytest tests/security -q -m security
