"""`kpi send` against metrics-ingest running as a real process: a backfill interrupted
mid-way (Ctrl-C after three acknowledged batches) resumes from its checkpoint, and every
record lands on metrics.events exactly once."""

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import kpi_cli.ingest
import pytest
from kpi_cli.app import app
from kpi_cli.client import ExitCode
from kpi_common.topics import METRICS_EVENTS
from typer.testing import CliRunner

from tests.conftest import Infra
from tests.integration.kpi_ingest.conftest import make_settings, new_tenant, read_topic
from tests.support.procs import running

pytestmark = pytest.mark.e2e


def _wait_key(url: str, key: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        resp = httpx.post(f"{url}/v1/events", json=[], headers={"Authorization": f"Bearer {key}"})
        if resp.status_code == 202:
            return
        time.sleep(0.1)
    raise TimeoutError("ingest never learned the key")


def test_send_resumes_after_an_interruption_and_sends_each_record_once(
    infra: Infra, service_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(
        infra.database_url, infra.kafka_bootstrap, infra.topic_prefix, topic_partitions=6
    )
    data = tmp_path / "events.jsonl"
    rows = [
        {"id": f"b-{i}", "metric": "erp.invoice.posted", "value": i, "time": "2026-01-05T10:00:00Z"}
        for i in range(1000)
    ]
    rows[950]["value"] = "not a number"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with running("metrics-ingest", service_env, tmp_path) as svc:
        tenant = asyncio.run(new_tenant(settings))
        _wait_key(svc.url, tenant.key)
        env = {"KPI_INGEST_URL": svc.url, "KPI_API_KEY": tenant.key}
        runner = CliRunner()
        real_post = kpi_cli.ingest.post_batch
        calls = {"n": 0}

        def interrupted(http: httpx.Client, batch: list[dict[str, Any]], attempts: int = 20) -> Any:
            calls["n"] += 1
            if calls["n"] == 4:
                raise KeyboardInterrupt
            return real_post(http, batch, attempts)

        monkeypatch.setattr(kpi_cli.ingest, "post_batch", interrupted)
        first = runner.invoke(app, ["send", "--file", str(data), "--batch-size", "100"], env=env)
        assert first.exit_code != 0
        assert json.loads((tmp_path / "events.jsonl.checkpoint").read_text())["done"] == 300

        monkeypatch.setattr(kpi_cli.ingest, "post_batch", real_post)
        second = runner.invoke(app, ["send", "--file", str(data), "--batch-size", "100"], env=env)
    assert second.exit_code == ExitCode.REJECTED.value == 8  # one record rejected
    assert "accepted 699, duplicates 0, rejected 1" in second.stdout
    assert "record 951: value:" in second.output
    assert "first rejected: record 951: value:" in second.stderr  # shown while sending
    assert not (tmp_path / "events.jsonl.checkpoint").exists()
    produced = asyncio.run(
        read_topic(infra.kafka_bootstrap, METRICS_EVENTS.qualified(infra.topic_prefix), 6)
    )
    ids = Counter(e.id for _, e in produced if e.tenant_id == tenant.tenant_id)
    assert set(ids) == {f"b-{i}" for i in range(1000)} - {"b-950"}
    assert set(ids.values()) == {1}
