"""A dead notification is sent again through the API: once, however often asked, with who
asked and when recorded; only an admin or editor key of its tenant may ask."""

from datetime import UTC, datetime

import pytest

from tests.conftest import Infra
from tests.integration.kpi_notifier.conftest import Harness, auth, harness, settings_for, until
from tests.integration.kpi_notifier.servers import SmtpServer, free_port
from tests.integration.kpi_notifier.test_api import _other_tenant_key

pytestmark = pytest.mark.integration


def now() -> datetime:
    return datetime.now(UTC)


async def _settled(h: Harness, dedup_key: str, status: str) -> dict[str, object]:
    async def there() -> bool:
        rows = [r for r in await h.rows() if r["dedup_key"] == dedup_key]
        return bool(rows) and rows[0]["status"] == status

    await until(there)
    return next(r for r in await h.rows() if r["dedup_key"] == dedup_key)


async def test_a_dead_notification_is_resent_once(
    infra: Infra, database_url: str, unique: str
) -> None:
    closed = SmtpServer(free_port())  # nothing listens on its port until started
    settings = settings_for(
        infra,
        database_url,
        f"{infra.topic_prefix}{unique}.",
        closed,
        KPI_NOTIFIER_MAX_ATTEMPTS=1,
    )
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        admin, viewer = await h.api_key("admin"), await h.api_key("viewer")
        queued = await h.api.post("/v1/test-notification", json={"to": "sam"}, headers=auth(admin))
        dead = await _settled(h, queued.json()["dedup_key"], "dead")
        path = f"/v1/notifications/{dead['id']}/resend"
        assert (await h.api.post(path, headers=auth(viewer))).status_code == 403
        other = await _other_tenant_key(h)
        assert (await h.api.post(path, headers=auth(other))).status_code == 404
        assert (
            await h.api.post(f"/v1/notifications/{10**12}/resend", headers=auth(admin))
        ).status_code == 404
        closed.start()
        try:
            first = await h.api.post(path, headers=auth(admin))
            sent = await _settled(h, queued.json()["dedup_key"], "sent")
            again = await h.api.post(path, headers=auth(admin))
        finally:
            closed.stop()
    assert first.status_code == 202, first.text
    assert first.json()["resent_by"] == h.key_ids[admin]
    assert sent["resends"] == 1
    assert sent["resent_by"] == h.key_ids[admin]
    assert sent["resent_at"] is not None
    assert again.status_code == 202
    assert again.json()["status"] == "sent"
    assert again.json()["resends"] == 1
    assert [str(m["To"]) for m in closed.messages] == ["sam@acme.example"]


async def test_only_a_dead_notification_can_be_resent(
    infra: Infra, database_url: str, unique: str, smtp: SmtpServer
) -> None:
    settings = settings_for(infra, database_url, f"{infra.topic_prefix}{unique}.", smtp)
    async with harness(infra, unique, settings, now, {}) as h:
        await h.strategy()
        admin = await h.api_key("admin")
        queued = await h.api.post("/v1/test-notification", json={"to": "sam"}, headers=auth(admin))
        sent = await _settled(h, queued.json()["dedup_key"], "sent")
        refused = await h.api.post(f"/v1/notifications/{sent['id']}/resend", headers=auth(admin))
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == (
        "only a dead notification can be resent; this one is sent"
    )
    assert len(smtp.messages) == 1
