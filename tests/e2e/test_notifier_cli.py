"""The `kpi` notifier commands against the notifier as a real process: the delivery log,
ack, silences, a test notification and an unknown breach."""

import asyncio

import pytest

from tests.e2e.conftest import NotifierWithBreach, kpi, wait_sent
from tests.support.strategy_events import load

pytestmark = pytest.mark.e2e


async def test_kpi_notifications_ack_silence_and_test_notification(
    notifier_with_breach: NotifierWithBreach,
) -> None:
    doc = load()
    doc["reviews"] = []
    async with notifier_with_breach(doc) as stack:
        cli, breach, smtp = stack.cli, stack.breach, stack.smtp
        log = await asyncio.to_thread(kpi, cli, "notifications")
        ack = await asyncio.to_thread(kpi, cli, "ack", breach.data["breach_id"])
        unknown = await asyncio.to_thread(kpi, cli, "ack", "brc-nope")
        add = await asyncio.to_thread(kpi, cli, "silence", "add", "--unit", "sales", "--for", "2h")
        listed = await asyncio.to_thread(kpi, cli, "silence", "list")
        silence_id = add.stdout.split()[1]
        removed = await asyncio.to_thread(kpi, cli, "silence", "rm", silence_id)
        test = await asyncio.to_thread(kpi, cli, "test-notification", "kim", "--note", "hello")
        await wait_sent(stack.url, stack.key, 2)

    assert log.returncode == 0, log.stderr
    assert "dana" in log.stdout
    assert "sent" in log.stdout
    assert "dead" in log.stdout  # sales-slack: its webhook variable is not set
    assert "ACME_SALES_SLACK_WEBHOOK" in log.stdout
    assert ack.stdout.startswith(f"acknowledged {breach.data['breach_id']}")
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    assert silence_id.startswith("sil-")
    assert "unit=sales" in listed.stdout
    assert removed.stdout.strip() == f"silence {silence_id} removed"
    assert test.returncode == 0, test.stderr
    assert [str(m["To"]) for m in smtp.messages] == ["dana@acme.example", "kim@acme.example"]
    assert "hello" in smtp.to("kim@acme.example")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
