"""Keys and tenants are learned from goals.changes; only live ingest/admin keys pass."""

import httpx
from kpi_ingest.config import Settings

from tests.integration.kpi_ingest.conftest import (
    auth,
    key_event,
    new_tenant,
    publish_goals,
    running_app,
    wait_key_known,
    wait_until,
)


async def test_ingest_and_admin_keys_pass_other_roles_get_403_and_strangers_401(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    ingest_key = (await new_tenant(settings, "ingest")).key
    admin_key = (await new_tenant(settings, "admin")).key
    for key in (ingest_key, admin_key):
        await wait_key_known(client, key)
    for role in ("viewer", "editor"):
        key = (await new_tenant(settings, role)).key
        await wait_key_known(client, key)
        resp = await client.post("/v1/events", json=[], headers=auth(key))
        assert resp.status_code == 403
        assert resp.json()["error"]["message"] == (
            f"this key has role '{role}'; sending events needs an 'ingest' or 'admin' key"
        )
    stranger = await client.post("/v1/events", json=[], headers=auth("kpi_not-a-key"))
    assert stranger.status_code == 401
    assert stranger.json()["error"]["code"] == "unauthorized"
    assert (await client.post("/v1/events", json=[])).status_code == 401
    ok = await client.post("/v1/events", json=[], headers=auth(ingest_key))
    assert ok.status_code == 202
    assert ok.json() == {"accepted": 0, "duplicates": 0, "rejected": []}


async def test_a_revoked_key_is_refused_once_the_revocation_arrives(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    t = await new_tenant(settings)
    await wait_key_known(client, t.key)
    revoke = key_event(t.tenant_id, t.key, "ingest", revoked=True, key_id=t.key_id)
    await publish_goals(settings, [revoke], [f"{t.tenant_id}:apikey:{t.key_id}"])

    async def refused() -> bool:
        resp = await client.post("/v1/events", json=[], headers=auth(t.key))
        return resp.status_code == 401

    await wait_until(refused)


async def test_keys_survive_a_restart_from_the_table(settings: Settings) -> None:
    async with running_app(settings) as first:
        key = (await new_tenant(settings)).key
        await wait_key_known(first, key)
    async with running_app(settings) as second:
        resp = await second.post("/v1/events", json=[], headers=auth(key))
        assert resp.status_code == 202
