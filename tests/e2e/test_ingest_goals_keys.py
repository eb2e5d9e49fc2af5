"""The key contract with the real goals service: a key issued by goals is accepted by
metrics-ingest once it arrives over goals.changes, and refused once goals revokes it."""

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support.procs import running

pytestmark = pytest.mark.e2e


def _eventually(check: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def test_goals_keys_are_learned_and_revocations_obeyed(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**service_env, "KPI_OPERATOR_TOKEN": "op-" + uuid.uuid4().hex}
    with (
        running("goals", env, tmp_path) as goals,
        running("metrics-ingest", env, tmp_path) as ingest,
    ):
        op = {"Authorization": f"Bearer {env['KPI_OPERATOR_TOKEN']}"}
        created = httpx.post(
            f"{goals.url}/v1/tenants", json={"slug": f"i{uuid.uuid4().hex[:8]}"}, headers=op
        )
        assert created.status_code == 201, created.text
        admin = {"Authorization": f"Bearer {created.json()['admin_api_key']}"}
        issued = httpx.post(f"{goals.url}/v1/api-keys", json={"role": "ingest"}, headers=admin)
        assert issued.status_code == 201, issued.text
        key = {"Authorization": f"Bearer {issued.json()['api_key']}"}
        event = {"id": "g-1", "metric": "crm.deal.won", "value": 1}

        def status() -> int:
            return httpx.post(f"{ingest.url}/v1/events", json=event, headers=key).status_code

        _eventually(lambda: status() == 202, "ingest never accepted the goals key")
        revoked = httpx.delete(f"{goals.url}/v1/api-keys/{issued.json()['key_id']}", headers=admin)
        assert revoked.is_success, revoked.text
        _eventually(lambda: status() == 401, "ingest kept accepting a revoked key")
