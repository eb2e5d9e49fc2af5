"""A sender sends only within the first half of its claim's lease and hands the rest back
unsent. Before, a batch that took longer than the lease went on sending rows another replica
had by then claimed again (their lease had run out), and both mailed them: `make
chaos-cluster` saw 31 messages mailed twice by two live notifiers."""

from datetime import UTC, datetime, timedelta

import pytest
from kpi_notifier.channels import Destination, Message
from kpi_notifier.channels.email import EmailSender

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import FakeClock, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SmtpServer
from tests.support.strategy_events import load

pytestmark = pytest.mark.integration
LEASE_S = 30


async def test_rows_a_slow_batch_cannot_send_within_half_its_lease_go_back_unsent(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = load()
    doc["alerts"]["routes"] = []  # the default: the KPI owner by email
    prefix = f"{infra.topic_prefix}{unique}."
    settings = settings_for(infra, database_url, prefix, smtp, KPI_NOTIFIER_SEND_LEASE_S=LEASE_S)
    clock = FakeClock(datetime.now(UTC))
    send = EmailSender.send

    async def slow(self: EmailSender, destination: Destination, message: Message) -> None:
        await send(self, destination, message)
        clock.advance(timedelta(seconds=LEASE_S * 0.6))  # one message takes 60% of the lease

    monkeypatch.setattr(EmailSender, "send", slow)
    async with harness(infra, unique, settings, clock, {}, loops=("consumer",)) as h:
        await h.strategy(doc)
        await h.api_key("admin")
        for kpi in ("ar-days", "operating-costs", "cash-flow"):
            await h.breach(kpi, "finance", "priya", kpi_title=kpi)

        async def all_pending() -> bool:
            rows = await h.rows()
            return len(rows) == 3 and {r["status"] for r in rows} == {"pending"}

        await until(all_pending)
        assert await h.notifier.sender.run_once() == 3  # all three claimed, one sent
        rows = await h.rows()
        assert sorted(r["status"] for r in rows) == ["pending", "pending", "sent"]
        assert sorted(r["attempts"] for r in rows) == [0, 0, 1]  # the unsent: no attempt
        assert len(smtp.messages) == 1
        assert await h.notifier.sender.run_once() == 2  # claimed again at once
        assert await h.notifier.sender.run_once() == 1
        rows = await h.rows()
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert [r["redelivered"] for r in rows] == [0] * 3
    assert len(smtp.messages) == 3  # each once
