"""Breaches for one owner within the digest window go out as one email; each breach keeps
its own delivery row (and dedup key), all recorded as sent."""

from datetime import UTC, datetime

import pytest

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import harness, settings_for, until
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def test_one_owners_breaches_within_the_window_become_one_digest(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    doc = load()
    doc["alerts"]["routes"] = []  # the default: the KPI owner by email
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(infra, database_url, prefix, smtp, KPI_NOTIFIER_DIGEST_WINDOW_S=2)
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        for kpi in ("ar-days", "operating-costs", "cash-flow"):
            await h.breach(kpi, "finance", "priya", kpi_title=kpi)
        await h.breach("csat", "service", "sam")

        async def all_sent() -> bool:
            rows = await h.rows()
            return len(rows) == 4 and {r["status"] for r in rows} == {"sent"}

        await until(all_sent)
    [digest] = smtp.to("priya@acme.example")
    assert digest["Subject"] == "3 KPIs need your attention"
    text = digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert all(
        f"* {kpi} is off track" in text for kpi in ("ar-days", "operating-costs", "cash-flow")
    )
    [single] = smtp.to("sam@acme.example")
    assert single["Subject"] == "Critical: New client acquisitions is off track (2026-Q1)"


async def test_with_the_window_off_breaches_claimed_together_go_out_one_email_each(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    """`KPI_NOTIFIER_DIGEST_WINDOW_S` 0 (the default) means no digest: breaches recorded
    between two sender passes (a busy evaluator publishes several in one batch) are still
    mailed one by one, each under its own subject."""
    doc = load()
    doc["alerts"]["routes"] = []  # the default: the KPI owner by email
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(infra, database_url, prefix, smtp)
    kpis = ("ar-days", "operating-costs", "cash-flow")
    async with harness(infra, unique, settings, now, {}, loops=("consumer",)) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        for kpi in kpis:
            await h.breach(kpi, "finance", "priya", kpi_title=kpi)

        async def all_pending() -> bool:
            rows = await h.rows()
            return len(rows) == 3 and {r["status"] for r in rows} == {"pending"}

        await until(all_pending)
        assert await h.notifier.sender.run_once() == 3  # one pass claims all three
        assert {r["status"] for r in await h.rows()} == {"sent"}
    subjects = sorted(m["Subject"] for m in smtp.to("priya@acme.example"))
    assert len(set(subjects)) == 3, subjects  # three breach emails, no digest
    assert all("is off track" in s for s in subjects), subjects
