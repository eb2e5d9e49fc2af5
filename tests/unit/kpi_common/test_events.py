"""Every registered (type, version) has examples, and every example validates."""

import json
from datetime import UTC, datetime
from importlib import resources

import pytest
from kpi_common.events import (
    EVENT_MODELS,
    MetricObserved,
    UnknownEvent,
    decode,
    encode,
    make_envelope,
    parse_data,
)
from kpi_common.topics import ALL_TOPICS

EXAMPLES = resources.files("kpi_common") / "examples"


def _examples(type_: str, version: int) -> list[dict[str, object]]:
    text = (EXAMPLES / f"{type_}.v{version}.json").read_text()
    loaded: list[dict[str, object]] = json.loads(text)
    return loaded


@pytest.mark.parametrize(("type_", "version"), sorted(EVENT_MODELS))
def test_each_event_version_has_valid_examples(type_: str, version: int) -> None:
    examples = _examples(type_, version)
    assert examples, f"{type_} v{version} has no example"
    for example in examples:
        envelope = decode(json.dumps(example).encode())
        assert (envelope.type, envelope.version) == (type_, version)
        assert isinstance(parse_data(envelope), EVENT_MODELS[(type_, version)])


def test_every_example_file_is_a_registered_version() -> None:
    names = {p.name for p in EXAMPLES.iterdir() if p.name.endswith(".json")}
    assert names == {f"{t}.v{v}.json" for t, v in EVENT_MODELS}


def test_every_topic_event_type_is_registered_and_every_type_has_a_topic() -> None:
    on_topics = {t for topic in ALL_TOPICS for t in topic.event_types}
    registered = {t for t, _ in EVENT_MODELS}
    assert on_topics == registered


def test_envelope_round_trips_through_bytes() -> None:
    now = datetime(2026, 2, 3, 10, tzinfo=UTC)
    data = MetricObserved(metric="crm.deal.won", value=1, time=now, received_at=now)
    env = make_envelope(id="evt-1", tenant_id="t1", producer="test", time=now, data=data)
    assert env.type == "metric.observed"
    assert env.version == 1
    assert decode(encode(env)) == env


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not a valid envelope"),
        (b'{"id": "x"}', "not a valid envelope"),
        (
            b'{"id":"x","type":"nope","version":1,"tenant_id":"t","time":"2026-01-01T00:00:00Z",'
            b'"producer":"p","data":{}}',
            "unknown event type nope v1",
        ),
        (
            b'{"id":"x","type":"metric.observed","version":1,"tenant_id":"t",'
            b'"time":"2026-01-01T00:00:00Z","producer":"p","data":{"metric":"m"}}',
            "invalid metric.observed v1 data",
        ),
    ],
)
def test_decode_names_the_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode(raw)


def test_naive_times_are_refused() -> None:
    raw = (
        b'{"id":"x","type":"tenant.created","version":1,"tenant_id":"t",'
        b'"time":"2026-01-01T00:00:00","producer":"p","data":{"slug":"a"}}'
    )
    with pytest.raises(ValueError, match="timezone"):
        decode(raw)


def test_unregistered_model_cannot_be_wrapped() -> None:
    from kpi_common.events import _Data

    class Stray(_Data):
        x: int

    with pytest.raises(UnknownEvent):
        make_envelope(id="1", tenant_id="t", producer="p", time=datetime.now(UTC), data=Stray(x=1))
