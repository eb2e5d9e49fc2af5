"""The notifier reads `goals.changes` v2 (docs/events.md, "Parse once"): a definition that
does not parse, or that the notifier cannot use, published straight to the topic for one
tenant, is dead-lettered with its reason and counted; the next events on the same partition,
another tenant's strategy, still reach its people. A v1 `node.upserted` is only counted."""

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kpi_common.events import Envelope
from kpi_common.topics import DEAD_LETTER, GOALS_CHANGES
from prometheus_client import REGISTRY

from tests.conftest import Infra
from tests.integration.kpi_common.test_kafka import _read_all
from tests.integration.kpi_notifier.conftest import harness, settings_for, until
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.strategy_events import events, events_v1

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


def upserted(tenant_id: str, node_type: str, node_id: str, definition: dict[str, Any]) -> Envelope:
    """A `node.upserted` v2 as a hand (or a bug) might publish it: not checked here."""
    data = {"node_type": node_type, "node_id": node_id, "revision": 9, "definition": definition}
    return Envelope(
        id=f"{tenant_id}:{node_type}:{node_id}:r9:v2", type="node.upserted", version=2,
        tenant_id=tenant_id, time=now(), producer="goals", data=data,
    )  # fmt: skip


def bad_kpi(tenant_id: str) -> Envelope:
    kpi = next(e for e in events(tenant_id) if e.data["node_id"] == "new-clients")
    return upserted(
        tenant_id, "kpi", "new-clients", {**kpi.data["definition"], "at_risk_below": "x"}
    )


def bad_route(tenant_id: str) -> Envelope:
    route = {"node_type": "alert_route", "id": "0", "notify": ["owner"], "escalate_after": "soon"}
    return upserted(tenant_id, "alert_route", "0", route)


def dead_lettered() -> float:
    return (
        REGISTRY.get_sample_value("kpi_consumer_dead_lettered_total", {"service": "notifier"}) or 0
    )


def superseded() -> float:
    return REGISTRY.get_sample_value("notifier_events_superseded_total") or 0


async def test_a_definition_that_does_not_parse_is_dead_lettered_and_another_tenant_is_notified(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(infra, database_url, prefix, smtp)
    before, v1_before = dead_lettered(), superseded()
    async with harness(infra, unique, settings, now, {}) as h:
        other = str(uuid.uuid4())
        # on the partitions of this tenant's KPI and route, ahead of them
        await h.publish(GOALS_CHANGES.name, f"{h.tenant_id}:kpi:new-clients", [bad_kpi(other)])
        await h.publish(GOALS_CHANGES.name, f"{h.tenant_id}:alert_route:0", [bad_route(other)])
        await h.publish(GOALS_CHANGES.name, f"{h.tenant_id}:person:dana", events_v1(other)[:3])
        await h.strategy()
        await h.api_key("admin")
        breach_id = await h.breach("new-clients", "sales", "dana")

        async def delivered() -> bool:
            return any(r["status"] == "sent" for r in await h.rows(breach_id=breach_id))

        await until(delivered)
        dead = await _read_all(infra.kafka_bootstrap, DEAD_LETTER.qualified(prefix), 2)
    reasons = {d.id: d.data["reason"] for d in dead}  # at least once: repeats share an id
    assert len(reasons) == 2
    assert any(
        "invalid node.upserted v2 data" in r and "at_risk_below" in r for r in reasons.values()
    )
    assert any("alert_route '0': not a duration: 'soon'" in r for r in reasons.values())
    assert all(d.data["topic"] == GOALS_CHANGES.qualified(prefix) for d in dead)
    assert dead_lettered() - before >= 2
    assert superseded() - v1_before >= 3
    assert [str(m["To"]) for m in smtp.messages] == ["dana@acme.example"]
