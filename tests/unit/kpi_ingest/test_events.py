"""The per-event rules: both shapes, every limit named in its reason."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_ingest.events import (
    Event,
    EventError,
    Limits,
    check_all,
    check_event,
    first_occurrences,
)

NOW = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
LIMITS = Limits(
    max_future=timedelta(minutes=5),
    archive_retention_months=36,
    max_dimensions=3,
    max_dimension_key_chars=12,
    max_dimension_value_chars=8,
)


def _plain(**over: object) -> dict[str, object]:
    event: dict[str, object] = {
        "id": "evt-1",
        "metric": "crm.deal.won",
        "value": 1,
        "time": "2026-02-03T09:00:00Z",
        "dimensions": {"new_customer": True, "region": "emea"},
    }
    event.update(over)
    return event


def test_a_plain_event_becomes_an_event_in_utc() -> None:
    event = check_event(_plain(time="2026-02-03T11:00:00+02:00"), LIMITS, NOW)
    assert event == Event(
        id="evt-1",
        metric="crm.deal.won",
        value=1.0,
        time=datetime(2026, 2, 3, 9, 0, tzinfo=UTC),
        dimensions={"new_customer": True, "region": "emea"},
    )


def test_a_cloudevent_maps_type_to_metric_and_data_to_value_and_dimensions() -> None:
    ce = {
        "specversion": "1.0",
        "id": "ce-1",
        "source": "/erp",
        "type": "erp.invoice.posted",
        "time": "2026-02-03T09:00:00Z",
        "data": {"value": 1200.5, "dimensions": {"region": "amer"}},
    }
    event = check_event(ce, LIMITS, NOW)
    assert (event.id, event.metric, event.value) == ("ce-1", "erp.invoice.posted", 1200.5)
    assert event.dimensions == {"region": "amer"}


def test_missing_time_means_received_now() -> None:
    item = _plain()
    del item["time"]
    assert check_event(item, LIMITS, NOW).time == NOW


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ([1], "event: must be a JSON object"),
        (_plain(id=""), "id: required"),
        (_plain(id="x" * 201), "id: longer than the limit of 200 characters"),
        (_plain(id="a\x00b"), "id: must not contain control characters"),
        (_plain(metric="Deal Won"), "metric: must match the pattern"),
        (_plain(metric=None), "metric: required"),
        (_plain(value="3"), "value: required, a number"),
        (_plain(value=True), "value: required, a number"),
        (_plain(value=float("nan")), "value: must be a finite number"),
        (_plain(value=float("inf")), "value: must be a finite number"),
        (_plain(time="yesterday"), "time: not an RFC 3339 timestamp"),
        (_plain(time="2026-02-03T09:00:00"), "time: must carry a timezone"),
        (_plain(time="2026-02-03T10:06:00Z"), "time: more than the limit of 5 minutes"),
        (_plain(time="2023-01-31T23:59:59Z"), "time: before 2023-02-01, the start of the oldest"),
        (_plain(time="1970-01-01T00:00:00Z"), "time: before 2023-02-01"),
        (_plain(dimensions=[1]), "dimensions: must be an object"),
        (
            _plain(dimensions={"a": 1, "b": 2, "c": 3, "d": 4}),
            "dimensions: more than the limit of 3 entries",
        ),
        (_plain(dimensions={"k" * 13: 1}), "dimensions: key longer than the limit of 12"),
        (_plain(dimensions={"bad key": 1}), "dimensions: key must match"),
        (_plain(dimensions={"r": "x" * 9}), "dimensions.r: longer than the limit of 8"),
        (_plain(dimensions={"r": None}), "dimensions.r: must be a string, number or boolean"),
        (_plain(extra=1), "extra: unknown field"),
        ({"specversion": "0.3", "id": "x", "type": "a.b", "data": {}}, "specversion: only"),
        ({"specversion": "1.0", "id": "x", "type": "a.b", "data": 5}, "data: must be an object"),
    ],
)
def test_each_broken_rule_is_named_in_the_reason(item: object, reason: str) -> None:
    with pytest.raises(EventError) as exc:
        check_event(item, LIMITS, NOW)
    assert str(exc.value).startswith(reason)


def test_check_all_keeps_the_good_and_indexes_the_bad() -> None:
    checked = check_all([_plain(id="a"), _plain(value="x"), _plain(id="c")], LIMITS, NOW)
    assert [e.id for e in checked.events] == ["a", "c"]
    assert [r.as_dict() for r in checked.rejected] == [
        {"index": 1, "reason": "value: required, a number"}
    ]


def test_a_repeated_id_within_one_request_counts_once() -> None:
    events = [check_event(_plain(id=i), LIMITS, NOW) for i in ("a", "b", "a", "a")]
    unique, repeats = first_occurrences(events)
    assert [e.id for e in unique] == ["a", "b"]
    assert repeats == 2


def test_the_oldest_month_counted_is_accepted_from_its_first_instant() -> None:
    # NOW is 2026-02-03: 36 months before February 2026 is February 2023
    assert check_event(_plain(time="2023-02-01T00:00:00Z"), LIMITS, NOW).time == datetime(
        2023, 2, 1, tzinfo=UTC
    )
