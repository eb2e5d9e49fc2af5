"""The evaluator's own copy of the strategy, built from goals.changes on the real Kafka."""

from datetime import UTC, datetime
from typing import Any

from kpi_common.events import NodeDeleted, make_envelope
from kpi_common.topics import GOALS_CHANGES
from kpi_evaluator.config import Settings
from sqlalchemy import text

from tests.conftest import Infra
from tests.integration.kpi_evaluator.conftest import (
    Clock,
    Running,
    make_settings,
    publish_strategy,
    running_app,
    send,
    wait_until,
)
from tests.support import strategy_events

NOW = datetime(2026, 2, 15, tzinfo=UTC)


async def _nodes(app: Running, tenant: str) -> dict[tuple[str, str], tuple[int, Any]]:
    async with app.parts.runtime.engine.connect() as conn:
        rows = await conn.execute(
            text("""SELECT node_type, node_id, revision, definition FROM evaluator.nodes
                    WHERE tenant_id = :t AND NOT deleted"""),
            {"t": tenant},
        )
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def test_acme_strategy_is_copied_with_every_kpi(settings: Settings) -> None:
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await publish_strategy(settings)
        expected = len(strategy_events.nodes(strategy_events.load()))

        async def copied() -> bool:
            return len(await _nodes(app, tenant.tenant_id)) == expected

        await wait_until(copied)
        strategy = await app.parts.strategies.get(tenant.tenant_id)
        assert strategy is not None
        assert len(strategy.kpis) == 14
        assert strategy.kpis["churn-rate"].kind == "ratio"
        assert strategy.kpis["profit-margin"].kind == "formula"
        assert sorted(k.id for k, _, _ in strategy.by_metric["erp.invoice.posted"]) == [
            "revenue",
            "revenue-amer",
            "revenue-emea",
        ]


async def test_only_newer_revisions_apply_and_the_topic_rebuilds_the_copy(
    infra: Infra, settings: Settings
) -> None:
    doc = strategy_events.load()
    async with running_app(settings, Clock(NOW)) as app:
        tenant = await publish_strategy(settings, doc)
        changed = strategy_events.load()
        changed["kpis"][3]["target"] = 60  # new-clients
        stale = strategy_events.load()
        stale["kpis"][3]["target"] = 10
        r2 = strategy_events.events(tenant.tenant_id, changed, revision=2)
        r1 = strategy_events.events(tenant.tenant_id, stale, revision=1)
        gone = make_envelope(
            id="del-csat",
            tenant_id=tenant.tenant_id,
            producer="goals",
            time=NOW,
            data=NodeDeleted(node_type="kpi", node_id="csat", revision=3),
        )
        key = f"{tenant.tenant_id}:kpi:x"
        await send(settings, GOALS_CHANGES.name, [(key, e) for e in [*r2, *r1, gone]])

        async def applied() -> bool:
            nodes = await _nodes(app, tenant.tenant_id)
            revision = nodes.get(("kpi", "new-clients"), (0, None))[0]
            return ("kpi", "csat") not in nodes and revision == 2

        await wait_until(applied)
        before = await _nodes(app, tenant.tenant_id)
        assert before[("kpi", "new-clients")][1]["targets"]["default"] == 60
        strategy = await app.parts.strategies.get(tenant.tenant_id)
        assert strategy is not None
        assert "csat" not in strategy.kpis
        assert strategy.kpis["new-clients"].targets.default == 60
        async with app.parts.runtime.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM evaluator.nodes WHERE tenant_id = :t"), {"t": tenant.tenant_id}
            )
    # A new consumer group replays goals.changes from the beginning: the same copy.
    replay = make_settings(infra, settings.topic_prefix, group_id="evaluator-replay")
    async with running_app(replay, Clock(NOW)) as app:

        async def rebuilt() -> bool:
            return await _nodes(app, tenant.tenant_id) == before

        await wait_until(rebuilt)
