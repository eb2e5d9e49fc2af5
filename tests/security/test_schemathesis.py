"""Schemathesis against each service's OpenAPI, in-process on the real Postgres and Kafka,
with valid credentials (tenant A's admin key; the operator token for `POST /v1/tenants`):
no 5xx, every answer a documented status code, content type, headers and body that match
the documented schema, and invalid input (negative mode) never accepted.

CI runs the fuzzing phase with `KPI_SECURITY_EXAMPLES` (default 4) examples per operation
and generation mode; `make security` runs more, plus the coverage phase (docs/security.md).
"""

import os
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineFinished, FatalError, NonFatalError, ScenarioFinished

from tests.security.stack import OPERATOR, SERVICES, Stack

EXAMPLES = int(os.environ.get("KPI_SECURITY_EXAMPLES", "4"))
COVERAGE = os.environ.get("KPI_SECURITY_COVERAGE", "") == "1"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "headers": {"Authorization": f"Bearer {token}"},
            "workers": 1,
            "seed": int(os.environ.get("KPI_SECURITY_SEED", "20261130")),
            "suppress-health-check": ["all"],
            "generation": {"max-examples": EXAMPLES, "mode": "all"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": COVERAGE},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    )


def _run(schema: Any) -> tuple[int, list[str]]:
    """Run the engine; how many scenarios ran, and a report of each failure or error."""
    ran, problems = 0, []
    for event in from_schema(schema).execute():
        if isinstance(event, ScenarioFinished):
            ran += 1
            if event.status in (Status.FAILURE, Status.ERROR):
                problems.append(_report(event))
        elif isinstance(event, NonFatalError | FatalError):
            problems.append(f"error: {event.info.format() if hasattr(event, 'info') else event}")
        elif isinstance(event, EngineFinished):
            problems += [str(f) for f in event.failures]
    return ran, problems


def _report(event: ScenarioFinished) -> str:
    lines = [f"{event.recorder.label}: {event.status.value}"]
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            interaction = event.recorder.interactions.get(case_id)
            sent = interaction.request if interaction is not None else None
            got = interaction.response if interaction is not None else None
            lines.append(f"  {check.name}: {check.failure_info.failure}")
            if sent is not None:
                lines.append(f"    request: {sent.method} {sent.uri} {sent.body!r:.300}")
            if got is not None:
                lines.append(f"    answer: {got.status_code} {got.content!r:.300}")
    return "\n".join(lines)


# schemathesis' negative mode draws from `random` inside its strategies; Hypothesis deprecates
# that with a warning, which pytest would turn into an error for every negative case.
@pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)
@pytest.mark.parametrize("service", SERVICES)
def test_openapi_contract_holds(stack: Stack, service: str) -> None:
    app = stack.apps[service]
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=_config(stack.a.keys["admin"])
    )
    ran, problems = _run(schema.exclude(path="/v1/tenants"))
    if service == "goals":
        operator = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config(OPERATOR))
        ran_op, more = _run(operator.include(path="/v1/tenants"))
        ran, problems = ran + ran_op, problems + more
    assert ran > 0, f"schemathesis ran nothing against {service}"
    assert not problems, "\n\n".join(problems)
