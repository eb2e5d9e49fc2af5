"""Pure decoding of a POST /v1/events body into a list of raw events, for each accepted
shape: a plain event or array (application/json), CloudEvents structured mode
(application/cloudevents+json), batched mode (application/cloudevents-batch+json) and binary
mode (ce-* headers with the data as the body)."""

from collections.abc import Mapping
from typing import Any

import orjson

from kpi_ingest.errors import Malformed, UnsupportedMediaType

JSON = "application/json"
CE_STRUCTURED = "application/cloudevents+json"
CE_BATCH = "application/cloudevents-batch+json"
CE_HEADER_PREFIX = "ce-"


def media_type(content_type: str | None) -> str:
    return (content_type or JSON).split(";", 1)[0].strip().lower()


def decode_body(content_type: str | None, body: bytes, headers: Mapping[str, str]) -> list[Any]:
    """The raw events of a request, in order; each one is validated on its own later."""
    kind = media_type(content_type)
    if kind not in (JSON, CE_STRUCTURED, CE_BATCH):
        raise UnsupportedMediaType(kind)
    parsed = _parse(body)
    if kind == CE_BATCH:
        if not isinstance(parsed, list):
            raise Malformed("a CloudEvents batch must be a JSON array")
        return parsed
    if kind == CE_STRUCTURED:
        if not isinstance(parsed, dict):
            raise Malformed("a structured CloudEvent must be a JSON object")
        return [parsed]
    if "ce-specversion" in headers:
        return [binary_cloudevent(headers, parsed)]
    return parsed if isinstance(parsed, list) else [parsed]


def _parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"body is not valid JSON: {exc}") from None


def binary_cloudevent(headers: Mapping[str, str], data: Any) -> dict[str, Any]:
    """A binary-mode CloudEvent: attributes from the ce-* headers, the body is `data`."""
    event: dict[str, Any] = {
        name[len(CE_HEADER_PREFIX) :]: value
        for name, value in headers.items()
        if name.startswith(CE_HEADER_PREFIX)
    }
    event["data"] = data
    return event
