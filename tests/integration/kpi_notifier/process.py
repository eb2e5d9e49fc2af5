"""The events the notifier e2e tests publish, and how they wait for the notifier process."""

import asyncio
import uuid
from datetime import UTC, datetime

import httpx
from kpi_common.apikeys import hash_api_key
from kpi_common.events import ApiKeyUpserted, Envelope, KpiBreachOpened, make_envelope

from tests.integration.kpi_notifier.conftest import example_breach


def breach_event(tenant: str, kpi: str, unit: str, owner: str) -> Envelope:
    """A `kpi.breach.opened` as the evaluator publishes it, opened now."""
    breach_id = f"brc-{kpi}-{uuid.uuid4().hex[:6]}"
    ids = {"breach_id": breach_id, "kpi_id": kpi, "unit_id": unit, "owner": owner}
    now = datetime.now(UTC)
    data = KpiBreachOpened.model_validate({**example_breach(), **ids, "opened_at": now})
    return make_envelope(id=breach_id, tenant_id=tenant, producer="evaluator", time=now, data=data)


def key_event(tenant: str, key: str, role: str = "admin") -> Envelope:
    """An `apikey.upserted` as goals publishes it (the hash, never the key)."""
    data = ApiKeyUpserted(
        key_id=f"k-{uuid.uuid4().hex[:6]}",
        key_hash=hash_api_key(key),
        role=role,
    )
    now = datetime.now(UTC)
    return make_envelope(id=data.key_id, tenant_id=tenant, producer="goals", time=now, data=data)


async def wait_known(url: str, key: str) -> None:
    """Until the notifier has read the key, published after the tenant's strategy on the same
    partition: the strategy is then known. A real evaluator breaches only after goals has
    published, and the notifier reads both topics in no fixed order between them."""
    async with asyncio.timeout(120), httpx.AsyncClient(base_url=url) as http:
        headers = {"Authorization": f"Bearer {key}"}
        while (await http.get("/v1/notifications", headers=headers)).status_code != 200:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
