"""The demo's tenant: created once, its keys kept under .local/demo so reruns reuse it."""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kpi_cli.client import CliSettings, check

from demo.stack import STATE

SAVED = STATE / "acme.json"


@dataclass
class DemoTenant:
    tenant_id: str
    admin_key: str
    ingest_key: str
    urls: CliSettings

    @classmethod
    def open(cls, operator_token: str) -> "DemoTenant":
        urls = CliSettings()
        if SAVED.exists():
            saved = json.loads(SAVED.read_text())
            return cls(saved["tenant_id"], saved["admin_key"], saved["ingest_key"], urls)
        created = check(
            httpx.post(
                f"{urls.goals_url}/v1/tenants",
                json={"slug": "acme"},
                headers={"Authorization": f"Bearer {operator_token}"},
                timeout=30,
            )
        )
        admin = created["admin_api_key"]
        ingest = check(
            httpx.post(
                f"{urls.goals_url}/v1/api-keys",
                json={"role": "ingest", "name": "demo traffic"},
                headers={"Authorization": f"Bearer {admin}"},
                timeout=30,
            )
        )["api_key"]
        tenant = cls(created["tenant_id"], admin, ingest, urls)
        SAVED.write_text(
            json.dumps({"tenant_id": tenant.tenant_id, "admin_key": admin, "ingest_key": ingest})
        )
        return tenant

    def _get(self, base: str, path: str, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return check(httpx.get(f"{base}{path}", params=params, headers=headers, timeout=30))

    def apply(self, strategy: Path) -> Any:
        return check(
            httpx.put(
                f"{self.urls.goals_url}/v1/strategy",
                content=strategy.read_bytes(),
                headers={
                    "Authorization": f"Bearer {self.admin_key}",
                    "Content-Type": "application/yaml",
                },
                timeout=60,
            )
        )

    def scorecard(self) -> Any:
        return self._get(self.urls.evaluator_url, "/v1/scorecard")

    def alignment(self) -> Any:
        return self._get(self.urls.goals_url, "/v1/alignment")

    def notifications(self) -> Any:
        return self._get(self.urls.notifier_url, "/v1/notifications", limit=200)

    def wait_until(self, what: str, ready: Any, timeout_s: float = 120) -> Any:
        """Poll `ready()` until it returns something truthy, or fail naming `what`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                got = ready()
            except Exception:
                got = None
            if got:
                return got
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def saved_path() -> Path:
    return SAVED
