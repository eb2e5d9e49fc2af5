"""The pure diff of stored vs wanted nodes and the `goals.changes` events it yields."""

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from kpi_common.events import NodeDeleted, NodeUpsertedV2, parse_data
from kpi_goals.nodes import Key, Node, Stored, diff, summary, to_document, to_event, to_nodes
from kpi_goals.parsing import parse_yaml

from tests.support import strategy_events
from tests.support.strategy_events import ACME

NOW = datetime(2026, 2, 3, tzinfo=UTC)


def acme() -> dict[str, Any]:
    data: dict[str, Any] = parse_yaml(ACME.read_text()).data
    return data


def stored(nodes: list[Node], revision: int = 1) -> dict[Key, Stored]:
    return {(n.node_type, n.node_id): Stored(revision, n.definition) for n in nodes}


def test_nodes_are_the_documented_contract() -> None:
    ours = [(n.node_type, n.node_id, n.definition) for n in to_nodes(acme())]
    theirs = strategy_events.nodes(strategy_events.load())
    assert orjson.loads(orjson.dumps(ours)) == orjson.loads(orjson.dumps(theirs))
    kinds = {n[0] for n in ours}
    assert kinds == {
        "organization",
        "unit",
        "person",
        "goal",
        "objective",
        "success_factor",
        "kpi",
        "review",
        "alert_channel",
        "alert_route",
        "alert_inhibit",
    }


def test_dates_and_durations_stay_strings_as_written() -> None:
    nodes = {(n.node_type, n.node_id): n.definition for n in to_nodes(acme())}
    assert nodes[("objective", "collect-faster")]["due"] == "2026-12-31"
    assert nodes[("objective", "win-new-clients")]["supports"] == ["grow-revenue"]
    assert nodes[("review", "quarterly-business-review")]["next"] == "2026-03-31"
    assert nodes[("alert_route", "1")]["escalate_after"] == "2d"


def test_first_apply_creates_every_node_at_revision_one_with_the_events_of_the_contract() -> None:
    changes = diff({}, to_nodes(acme()))
    assert {c.action for c in changes} == {"create"}
    assert {c.revision for c in changes} == {1}
    events = [to_event("t1", c, NOW) for c in changes]
    expected = strategy_events.events("t1")
    assert [e.data for e in events] == [orjson.loads(orjson.dumps(e.data)) for e in expected]
    assert events[0].id == "t1:organization:organization:r1:v2"
    assert all(isinstance(parse_data(e), NodeUpsertedV2) for e in events)


def test_applying_the_same_document_changes_nothing() -> None:
    nodes = to_nodes(acme())
    assert diff(stored(nodes, 4), to_nodes(acme())) == []


def test_an_edited_target_is_exactly_one_update_one_revision_up() -> None:
    nodes = to_nodes(acme())
    edited = acme()
    edited["kpis"][3]["target"] = 60
    changes = diff(stored(nodes, 2), to_nodes(edited))
    assert [(c.action, c.node_type, c.node_id, c.revision) for c in changes] == [
        ("update", "kpi", "new-clients", 3)
    ]
    assert changes[0].before is not None
    assert changes[0].before["target"] == 50
    assert summary(changes)["updated"] == 1


def test_a_removed_node_is_deleted_and_a_recreated_one_keeps_counting() -> None:
    nodes = to_nodes(acme())
    edited = acme()
    edited["reviews"].pop()
    changes = diff(stored(nodes), to_nodes(edited))
    assert [(c.action, c.node_id, c.revision) for c in changes] == [
        ("delete", "sales-pipeline-review", 2)
    ]
    event = parse_data(to_event("t1", changes[0], NOW))
    assert event == NodeDeleted(node_type="review", node_id="sales-pipeline-review", revision=2)
    tomb = stored(nodes)
    tomb[("review", "sales-pipeline-review")] = Stored(2, None)
    again = diff(tomb, nodes)
    assert [(c.action, c.node_id, c.revision) for c in again] == [
        ("create", "sales-pipeline-review", 3)
    ]


def test_deletes_come_after_upserts_and_children_before_parents() -> None:
    nodes = to_nodes(acme())
    doc = copy.deepcopy(acme())
    doc["units"] = [u for u in doc["units"] if u["id"] != "people"]
    doc["people"] = [p for p in doc["people"] if p["id"] != "jo"]
    doc["goals"] = [g for g in doc["goals"] if g["id"] != "engaged-people"]
    doc["kpis"] = [k for k in doc["kpis"] if k["unit"] != "people"]
    doc["reviews"][0]["attendees"].remove("jo")
    changes = diff(stored(nodes), to_nodes(doc))
    assert next((c.action, c.node_type) for c in changes) == ("update", "review")
    deleted = [c.node_type for c in changes if c.action == "delete"]
    assert deleted == ["kpi", "kpi", "goal", "person", "unit"]


def test_the_document_round_trips_through_nodes() -> None:
    nodes = to_nodes(acme())
    assert to_nodes(to_document(nodes)) == nodes


def test_no_inhibit_publishes_the_default_and_the_document_comes_back_without_it() -> None:
    nodes = to_nodes(acme())
    rules = [n for n in nodes if n.node_type == "alert_inhibit"]
    assert [r.definition["implicit"] for r in rules] == [True]
    assert "inhibit" not in to_document(nodes)["alerts"]


@pytest.mark.parametrize(
    "inhibit", [[], [{"source": {"kpi": "revenue"}, "target": {"unit": "sales"}, "equal": []}]]
)
def test_declared_inhibit_rules_replace_the_default_and_round_trip(
    inhibit: list[dict[str, Any]],
) -> None:
    doc = acme()
    doc["alerts"]["inhibit"] = inhibit
    nodes = to_nodes(doc)
    assert [n.definition for n in nodes if n.node_type == "alert_inhibit"] == inhibit
    assert to_document(nodes)["alerts"]["inhibit"] == inhibit
    assert to_nodes(to_document(nodes)) == nodes
