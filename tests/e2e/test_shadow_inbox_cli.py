"""`kpi shadow` and `kpi inbox` against the notifier as a real process: a shadow route on
the same breach as the live one sends nothing and is listed; the owner's inbox lists the
breach until it is acknowledged."""

import asyncio
import json

import pytest

from tests.e2e.conftest import NotifierWithBreach, kpi
from tests.support.strategy_events import load

pytestmark = pytest.mark.e2e


async def test_kpi_shadow_and_kpi_inbox(notifier_with_breach: NotifierWithBreach) -> None:
    doc = load()
    doc["reviews"] = []
    doc["alerts"]["routes"] = [
        {"match": {"unit": "sales"}, "notify": ["morgan"], "mode": "shadow"},
        {"notify": ["owner"]},
    ]
    async with notifier_with_breach(doc) as stack:
        cli, smtp, breach_id = stack.cli, stack.smtp, stack.breach.data["breach_id"]
        shadow = await asyncio.to_thread(kpi, cli, "shadow")
        shadow_json = await asyncio.to_thread(kpi, cli, "shadow", "--route", "0", "--json")
        inbox = await asyncio.to_thread(kpi, cli, "inbox", "--person", "dana")
        await asyncio.to_thread(kpi, cli, "ack", breach_id)
        after_ack = await asyncio.to_thread(kpi, cli, "inbox", "--person", "dana", "--json")
        stranger = await asyncio.to_thread(kpi, cli, "inbox", "--person", "zoe")

    assert [str(m["To"]) for m in smtp.messages] == ["dana@acme.example"]  # never morgan
    assert shadow.returncode == 0, shadow.stderr
    assert "morgan" in shadow.stdout
    assert "route" in shadow.stdout
    (entry,) = json.loads(shadow_json.stdout)
    assert entry["recipient"] == "morgan"
    assert entry["dedup_key"] == f"shadow:route0:{breach_id}:opened:email:morgan"
    assert entry["subject"].startswith("Critical: New client acquisitions")
    assert inbox.returncode == 0, inbox.stderr
    assert "Dana Ortiz (dana)" in inbox.stdout
    assert breach_id in inbox.stdout
    assert json.loads(after_ack.stdout)["breaches"] == []
    assert stranger.returncode == 1
    assert "person zoe not found" in stranger.stderr
