"""Burn-rate alerts on the real Kafka and Postgres: acme's cash-flow rule (28d and 7d at
factor 2, a 10% budget of 1,150,000 USD for 2026) fires before the status band would, stays
quiet on a short blip, resolves when the short window recovers, and each transition is
published once."""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from kpi_common.events import Envelope
from kpi_common.topic_reads import read_topic
from kpi_common.topics import KPI_BREACHES
from kpi_evaluator.config import Settings

from tests.integration.kpi_evaluator.conftest import (
    Clock,
    metric,
    running_app,
    send_metrics,
    wait_until,
)
from tests.integration.kpi_evaluator.test_pipeline import start, status

PACE = 1_150_000 / 365  # cash flow per day that ends the year on target


def cash(tenant: str, first: date, days: int, each: float) -> list[Any]:
    return [
        metric(
            tenant, "finance.cash.operating", each, f"{first + timedelta(days=i)}T12:00:00+00:00"
        )
        for i in range(days)
    ]


async def alerts(settings: Settings, tenant: str) -> list[Envelope]:
    envs = await read_topic(settings.kafka_bootstrap, KPI_BREACHES.qualified(settings.topic_prefix))
    return [e for e in envs if e.tenant_id == tenant]


async def test_fires_before_the_band_quiet_on_a_blip_resolves_once(settings: Settings) -> None:
    clock = Clock(datetime(2026, 6, 1, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        # at pace to May 29, nothing on May 30 and 31: the last 7 days burn 2.86x, 28 days 0.71x
        blip = cash(t, date(2026, 1, 1), 149, PACE)
        await send_metrics(settings, blip)
        await app.wait_consumed(len(blip))
        now = await status(app, tenant, "cash-flow", "2026")
        assert (now["status"], round(now["actual"])) == ("at_risk", round(149 * PACE))
        # a week more without cash: 28 days burn 3.2x, 7 days 10x -> fires; still at_risk
        clock.now = datetime(2026, 6, 8, tzinfo=UTC)
        await app.parts.ticker.tick_once([t])
        assert (await status(app, tenant, "cash-flow", "2026"))["status"] == "at_risk"
        # June 8: six days' worth arrives; the last 7 days burn 1.43x -> resolved
        clock.now = datetime(2026, 6, 8, 13, tzinfo=UTC)
        recovery = cash(t, date(2026, 6, 8), 1, 6 * PACE)
        await send_metrics(settings, recovery)
        await app.wait_consumed(len(blip) + 1)
        await app.parts.ticker.tick_once([t])  # evaluating again changes nothing

        async def both() -> bool:
            return len([e for e in await alerts(settings, t) if "burn" in e.type]) >= 2

        await wait_until(both)
    envs = await alerts(settings, t)
    burns = [e for e in envs if "burn" in e.type]
    assert [e.type for e in burns] == ["kpi.burn_rate.fired", "kpi.burn_rate.resolved"]
    fired, resolved = (b.data for b in burns)
    assert fired["fired_at"].startswith("2026-06-08T00:00:00")  # not on June 1: the blip
    assert (fired["kpi_id"], fired["period"], fired["rule"]) == ("cash-flow", "2026", "28d-7d-x2")
    assert (fired["status"], fired["mode"], fired["severity"]) == ("at_risk", "live", "warning")
    assert round(fired["long_burn_rate"], 3) == round((1 - 19 / 28) / 0.1, 3)  # 3.214
    assert round(fired["short_burn_rate"], 3) == 10
    assert round(fired["projected_shortfall_share"], 4) == round((1 - 19 / 28), 4)
    assert [c["node_id"] for c in fired["so_that_chain"]] == [
        "grow-cash-flow",
        "raise-profitability",
    ]
    assert resolved["alert_id"] == fired["alert_id"]
    assert resolved["reason"] == "recovered"
    assert resolved["short_burn_rate"] == pytest.approx((1 - 6 / 7) / 0.1)  # 1.43 < 2
    assert not [
        e for e in envs if e.type == "kpi.breach.opened" and e.data["kpi_id"] == "cash-flow"
    ]


async def test_the_worked_example_fires_while_the_year_is_on_track(settings: Settings) -> None:
    clock = Clock(datetime(2026, 6, 1, tzinfo=UTC))
    async with running_app(settings, clock) as app:
        tenant = await start(app, settings)
        t = tenant.tenant_id
        # docs/strategy.md: 450,000 to May 3, 55,000 May 4..24, 15,000 May 25..31
        events = [
            *cash(t, date(2026, 1, 1), 123, 450_000 / 123),
            *cash(t, date(2026, 5, 4), 21, 55_000 / 21),
            *cash(t, date(2026, 5, 25), 7, 15_000 / 7),
        ]
        await send_metrics(settings, events)
        await app.wait_consumed(len(events))
        year = await status(app, tenant, "cash-flow", "2026")
        assert (year["status"], round(year["actual"])) == ("on_track", 520_000)

        async def fired() -> bool:
            return any(e.type == "kpi.burn_rate.fired" for e in await alerts(settings, t))

        await wait_until(fired)
    [alert] = [e.data for e in await alerts(settings, t) if "burn" in e.type]
    assert (round(alert["long_burn_rate"], 3), round(alert["short_burn_rate"], 3)) == (2.065, 3.199)
    # the year at May's pace: 70,000 x 365 / 28 = 912,500, 237,500 short of 1,150,000
    assert alert["projected_shortfall"] == pytest.approx(237_500)
