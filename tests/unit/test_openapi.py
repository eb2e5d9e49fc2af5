"""Every 2xx answer of the four services is described in their OpenAPI documents: a typed
body, never a bare `{"type": "object", "additionalProperties": true}` at any depth (a
strategy document's entries are described by the document's models), so the schema checks
of the security suite (tests/security/test_schemathesis.py) check what the routes answer.
The web service answers HTML and publishes no JSON route."""

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


def _untyped(
    doc: Schema, schema: Schema, at: str = "body", seen: frozenset[str] = frozenset()
) -> list[str]:
    """Where in this body schema, at any depth, is an object of unknown shape or a value of
    no schema at all (a place named in `OPEN` excepted; a recursive reference read once)."""
    ref = schema.get("$ref")
    if ref in seen or any(at.endswith(place) for place in OPEN):
        return []
    seen = seen if ref is None else seen | {ref}
    schema = _resolve(doc, schema)

    def inner(s: Schema, where: str) -> list[str]:
        return _untyped(doc, s, where, seen)

    branches = schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf")
    if branches:
        return [why for i, b in enumerate(branches) for why in inner(b, f"{at}|{i}")]
    if not schema:
        return [f"{at}: no schema"]
    if schema.get("type") == "array":
        return inner(schema.get("items", {}), f"{at}[]")
    if schema.get("type") not in (None, "object") or "const" in schema or "enum" in schema:
        return []
    properties: dict[str, Schema] = schema.get("properties") or {}
    more = schema.get("additionalProperties")
    if not properties and not (isinstance(more, dict) and more):
        return [f"{at}: untyped object {schema}"]
    found = [w for name, s in properties.items() for w in inner(s, f"{at}.{name}")]
    if isinstance(more, dict) and more:
        found += inner(more, f"{at}.*")
    return found


# Places whose value is any JSON by definition, not a shape nobody wrote down.
OPEN = (
    ".before",  # a field's value before and after a change: a number, text, list, object
    ".after",
    "body.properties",  # GET /v1/strategy/schema: a JSON Schema's own keywords
    "body.$defs",
)


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


def test_the_check_refuses_an_untyped_body_at_any_depth() -> None:
    doc: Schema = {"paths": {}}
    assert _untyped(doc, {"type": "object", "additionalProperties": True}) != []
    assert _untyped(doc, {}) == ["body: no schema"]
    assert _untyped(doc, {"type": "object", "properties": {"a": {"type": "string"}}}) == []
    nested = {"type": "object", "properties": {"items": {"type": "array", "items": {}}}}
    assert _untyped(doc, nested) == ["body.items[]: no schema"]
    open_map = {"type": "object", "additionalProperties": {"type": "object"}}
    assert _untyped(doc, open_map) == ["body.*: untyped object {'type': 'object'}"]
