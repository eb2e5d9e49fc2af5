"""The goals.changes handler's view of a batch: typed node changes, newest (revision,
contract) per node; v1 upserts superseded; a definition that does not parse never reaches
it (decoding refuses it, and the consumer dead-letters what decoding refuses)."""

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka import ConsumerRecord
from kpi_common.definitions import KpiDef
from kpi_common.events import Envelope, NodeDeleted, encode, make_envelope
from kpi_common.kafka import Message
from kpi_evaluator.strategy import node_rows
from prometheus_client import REGISTRY

from tests.support import strategy_events

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def messages(envelopes: list[Envelope]) -> list[Message]:
    return [Message(e, "goals.changes", 0, i) for i, e in enumerate(envelopes)]


def superseded() -> float:
    return REGISTRY.get_sample_value("evaluator_nodes_superseded_total") or 0.0


def test_v2_nodes_are_typed_and_v1_upserts_are_superseded_and_counted() -> None:
    before = superseded()
    v1 = strategy_events.events_v1("a")
    v2 = strategy_events.events("a")
    rows = node_rows(messages([*v1, *v2]))
    assert superseded() - before == len(v1)
    assert len(rows) == len(v2)
    revenue = next(r for r in rows if r.node_id == "revenue")
    assert isinstance(revenue.definition, KpiDef)
    assert revenue.version == (1, 2)
    assert revenue.definition.targets.default == pytest.approx(12_000_000)


def test_the_newest_revision_of_a_node_in_a_batch_wins_a_delete_included() -> None:
    r2 = strategy_events.events("a", revision=2)
    r1 = strategy_events.events("a", revision=1)
    gone = make_envelope(
        id="del",
        tenant_id="a",
        producer="goals",
        time=NOW,
        data=NodeDeleted(node_type="kpi", node_id="csat", revision=3),
    )
    rows = {r.node_id: r for r in node_rows(messages([*r2, gone, *r1]))}
    assert rows["revenue"].revision == 2
    assert rows["csat"].deleted
    assert rows["csat"].version == (3, 2)


def bad_kpi(**change: Any) -> bytes:
    """The v2 `node.upserted` of acme's revenue KPI with its definition changed."""
    env = next(e for e in strategy_events.events("a") if e.data["node_id"] == "revenue")
    raw = orjson.loads(encode(env))
    raw["data"]["definition"].update(change)
    return orjson.dumps(raw)


@pytest.mark.parametrize(
    "change",
    [
        {"at_risk_below": "x"},
        {"weight": -1},
        {"period": "fortnight"},
        {"direction": "sideways"},
        {"measure": {"kind": "metric", "metric": {"metric": "m", "aggregation": "median"}}},
        {"id": "another-kpi"},
        {"node_type": "goal"},
    ],
)
def test_a_definition_that_does_not_parse_is_refused_where_the_record_is_decoded(
    change: dict[str, Any],
) -> None:
    raw = bad_kpi(**change)
    record = ConsumerRecord("goals.changes", 0, 7, 0, 0, None, raw, None, 0, len(raw), [])
    with pytest.raises(ValueError, match=r"invalid node\.upserted v2 data"):
        Message.from_record(record)


@pytest.mark.parametrize(
    ("field", "value"), [("timezone", "Mars/Olympus"), ("fiscal_year_start", "13-01")]
)
def test_an_organization_whose_calendar_cannot_be_built_does_not_parse(
    field: str, value: str
) -> None:
    env = next(e for e in strategy_events.events("a") if e.data["node_type"] == "organization")
    raw = orjson.loads(encode(env))
    raw["data"]["definition"][field] = value
    record = ConsumerRecord("goals.changes", 0, 7, 0, 0, None, orjson.dumps(raw), None, 0, 1, [])
    with pytest.raises(ValueError, match=field):
        Message.from_record(record)


def test_a_decoded_message_carries_its_data_parsed_once() -> None:
    env = strategy_events.events("a")[0]
    raw = encode(env)
    record = ConsumerRecord("goals.changes", 0, 7, 0, 0, None, raw, None, 0, len(raw), [])
    message = Message.from_record(record)
    assert message.data is message.data
    assert [r.node_id for r in node_rows([message])] == ["organization"]
