"""The opt-in weekly scorecard digest: kpi.status consumed, a unit subscribed through the
API, one email to the unit's owner per ISO week under an injected clock."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_common.events import KpiStatusChanged, make_envelope
from kpi_common.topics import KPI_STATUS
from kpi_notifier.scorecard_store import ScorecardStore

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import (
    FakeClock,
    Harness,
    auth,
    harness,
    settings_for,
    until,
)
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration
MONDAY = datetime(2026, 2, 23, 7, 0, tzinfo=UTC)


def status(tenant: str, kpi: str, value: str, actual: float, at: datetime) -> object:
    data = KpiStatusChanged(
        kpi_id=kpi, period="2026-Q1", period_start=datetime(2026, 1, 1, tzinfo=UTC),
        period_end=datetime(2026, 4, 1, tzinfo=UTC), actual=actual, target=50, expected=27.8,
        forecast=21.6, status=value, evaluated_at=at,
    )  # fmt: skip
    return make_envelope(id=f"st-{kpi}-{at.timestamp()}", tenant_id=tenant, producer="evaluator",
                         time=at, data=data)  # fmt: skip


async def test_a_subscribed_units_owner_gets_one_scorecard_a_week(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    clock = FakeClock(MONDAY)
    doc = load()
    doc["reviews"] = []
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, clock, {}) as h:
        await h.strategy(doc)
        admin = await h.api_key("admin")
        newer = status(h.tenant_id, "new-clients", "off_track", 12, MONDAY)
        older = status(h.tenant_id, "new-clients", "on_track", 40, MONDAY - timedelta(days=3))
        await h.publish(KPI_STATUS.name, f"{h.tenant_id}:new-clients", [newer, older])  # type: ignore[list-item]
        sub = await h.api.post("/v1/scorecard-digests", json={"unit": "sales"}, headers=auth(admin))
        bad = await h.api.post("/v1/scorecard-digests", json={"unit": "nope"}, headers=auth(admin))
        assert await h.notifier.ticker.tick() == 0  # Monday 07:00: not yet
        clock.now = MONDAY.replace(hour=8)
        await until(lambda: _status_seen(h))
        assert await h.notifier.ticker.tick() == 1
        assert await h.notifier.ticker.tick() == 0
        clock.advance(timedelta(days=7))
        assert await h.notifier.ticker.tick() == 1

        async def two_sent() -> bool:
            return len(await h.rows(status="sent")) == 2

        await until(two_sent)
    assert sub.json() == {"unit": "sales", "owner": "dana"}
    assert bad.status_code == 422
    first, second = smtp.to("dana@acme.example")
    assert first["Subject"] == "Weekly scorecard 2026-W09: Sales"
    assert second["Subject"] == "Weekly scorecard 2026-W10: Sales"
    text = first.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "* New client acquisitions: off track (actual 12, target 50, forecast 21.6)" in text
    assert "* Revenue EMEA: no data" in text


async def _status_seen(h: Harness) -> bool:
    async with h.notifier.sessions() as session:
        return bool(await ScorecardStore(session).statuses(h.tenant_id))
