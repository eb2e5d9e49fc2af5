"""Decoding a request body in each accepted content type."""

import orjson
import pytest
from kpi_common.errors import ApiError
from kpi_ingest.intake import decode_body


def test_plain_json_object_or_array() -> None:
    assert decode_body("application/json", b'{"id": "a"}', {}) == [{"id": "a"}]
    assert decode_body("application/json; charset=utf-8", b'[{"id": "a"}, 1]', {}) == [
        {"id": "a"},
        1,
    ]


def test_structured_and_batched_cloudevents() -> None:
    ce = {"specversion": "1.0", "id": "x", "type": "a.b", "data": {"value": 1}}
    assert decode_body("application/cloudevents+json", orjson.dumps(ce), {}) == [ce]
    batch = orjson.dumps([ce, ce])
    assert decode_body("application/cloudevents-batch+json", batch, {}) == [ce, ce]


def test_binary_cloudevent_takes_attributes_from_headers() -> None:
    headers = {
        "ce-specversion": "1.0",
        "ce-id": "b-1",
        "ce-type": "crm.deal.won",
        "ce-source": "/crm",
        "content-type": "application/json",
    }
    body = b'{"value": 2, "dimensions": {"region": "emea"}}'
    assert decode_body("application/json", body, headers) == [
        {
            "specversion": "1.0",
            "id": "b-1",
            "type": "crm.deal.won",
            "source": "/crm",
            "data": {"value": 2, "dimensions": {"region": "emea"}},
        }
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("application/json", b"{nope", 400),
        ("text/plain", b"{}", 415),
        ("application/cloudevents-batch+json", b"{}", 400),
        ("application/cloudevents+json", b"[]", 400),
        ("application/json", b'{"value": NaN}', 400),
    ],
)
def test_bodies_that_cannot_be_read_are_refused_whole(
    content_type: str, body: bytes, status: int
) -> None:
    with pytest.raises(ApiError) as exc:
        decode_body(content_type, body, {})
    assert exc.value.status == status
