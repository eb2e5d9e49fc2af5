"""Every 2xx answer of the four services is described in their OpenAPI documents: a typed
body, never a bare `{"type": "object", "additionalProperties": true}`, so the schema checks
of the security suite (tests/security/test_schemathesis.py) check what the routes answer."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from kpi_evaluator.main import create_app as evaluator_app
from kpi_goals.main import create_app as goals_app
from kpi_ingest.main import create_app as ingest_app
from kpi_notifier.main import create_app as notifier_app

APPS: dict[str, Callable[[], FastAPI]] = {
    "goals": goals_app,
    "metrics-ingest": ingest_app,
    "evaluator": evaluator_app,
    "notifier": notifier_app,
}
Schema = dict[str, Any]


def _resolve(doc: Schema, schema: Schema) -> Schema:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    found: Schema = doc
    for part in ref.removeprefix("#/").split("/"):
        found = found[part]
    return found


def _untyped(doc: Schema, schema: Schema) -> list[str]:
    """What in this body schema is an object of unknown shape (or no schema at all)."""
    schema = _resolve(doc, schema)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return [why for b in branches for why in _untyped(doc, b)]
    if not schema:
        return ["no schema"]
    if schema.get("type") == "array":
        return _untyped(doc, schema.get("items", {}))
    if schema.get("type") in (None, "object") and not schema.get("properties"):
        return [f"untyped object {schema}"]
    return []


def _success_bodies(doc: Schema) -> Iterator[tuple[str, Schema]]:
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    continue
                for media, content in response.get("content", {}).items():
                    yield f"{method.upper()} {path} {status} {media}", content.get("schema", {})


@pytest.mark.parametrize("service", APPS)
def test_every_success_body_has_a_typed_schema(service: str) -> None:
    doc = APPS[service]().openapi()
    bodies = list(_success_bodies(doc))
    assert bodies, f"{service} documents no success body"
    untyped = [f"{where}: {why}" for where, s in bodies for why in _untyped(doc, s)]
    assert not untyped, "\n".join(untyped)


def test_the_check_refuses_an_untyped_body() -> None:
    doc: Schema = {"paths": {}}
    assert _untyped(doc, {"type": "object", "additionalProperties": True}) != []
    assert _untyped(doc, {}) == ["no schema"]
    assert _untyped(doc, {"type": "object", "properties": {"a": {"type": "string"}}}) == []
