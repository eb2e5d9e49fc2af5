"""The demo's tenant: created once, its keys and webhook secrets kept under .local/demo so
reruns reuse it; its sources configured (idempotently) with `PUT /v1/sources/{id}`."""

import json
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kpi_cli.client import CliSettings, check
from kpi_cli.feed_sources import FeedSources
from kpi_cli.targets import GoalsTargets

from demo.stack import STATE

SAVED = STATE / "acme.json"


@dataclass
class DemoTenant:
    tenant_id: str
    admin_key: str
    ingest_key: str
    urls: CliSettings
    feeds: FeedSources

    @classmethod
    def open(cls, operator_token: str) -> "DemoTenant":
        """The saved tenant when goals still knows its admin key, else a new one."""
        urls = CliSettings()
        if SAVED.exists():
            saved = _with_secrets(json.loads(SAVED.read_text()))
            if _known(urls, saved["admin_key"]):
                return cls(
                    saved["tenant_id"], saved["admin_key"], saved["ingest_key"], urls, _feeds(saved)
                )
        saved = _with_secrets(_create(urls, operator_token), fresh=True)
        return cls(saved["tenant_id"], saved["admin_key"], saved["ingest_key"], urls, _feeds(saved))

    def configure_sources(self) -> list[str]:
        """PUT every source definition (201 the first time, 200 on a rerun)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        done = []
        for source_id, definition in self.feeds.definitions().items():
            url = f"{self.urls.ingest_url}/v1/sources/{source_id}"
            resp = httpx.put(url, json=definition, headers=headers, timeout=30)
            check(resp)
            done.append(f"{source_id} ({definition['kind']}, {resp.status_code})")
        return done

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

    @contextmanager
    def targets(self) -> Iterator[GoalsTargets]:
        """Each KPI's periods and targets, asked from goals (after `apply`)."""
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        with httpx.Client(base_url=self.urls.goals_url, headers=headers, timeout=30) as http:
            yield GoalsTargets(http)

    def ingest_knows_key(self) -> bool:
        url = f"{self.urls.ingest_url}/v1/events"
        headers = {"Authorization": f"Bearer {self.ingest_key}"}
        return httpx.post(url, json=[], headers=headers, timeout=10).status_code != 401

    def scorecard(self) -> Any:
        return self._get(self.urls.evaluator_url, "/v1/scorecard")

    def alignment(self) -> Any:
        return self._get(self.urls.goals_url, "/v1/alignment")

    def review_findings(self) -> Any:
        return self._get(self.urls.notifier_url, "/v1/findings")

    def data_health(self) -> Any:
        return self._get(self.urls.evaluator_url, "/v1/data-health")

    def send_mistyped(self, events: list[dict[str, Any]]) -> Any:
        """Events sent straight to `POST /v1/events`, as a script with a typo would."""
        url = f"{self.urls.ingest_url}/v1/events"
        headers = {"Authorization": f"Bearer {self.ingest_key}"}
        return check(httpx.post(url, json=events, headers=headers, timeout=30))

    def notifications(self) -> Any:
        return self._get(self.urls.notifier_url, "/v1/notifications", limit=200)

    def incidents(self) -> Any:
        return self._get(self.urls.notifier_url, "/v1/incidents")


def wait_until(what: str, ready: Callable[[], Any], timeout_s: float = 120) -> Any:
    """Poll `ready()` until it returns something truthy (an exception counts as not yet),
    or fail naming `what`. The demo and the bench wait for the services with it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = ready()
        except Exception:
            got = None
        if got:
            return got
        time.sleep(0.3)
    raise RuntimeError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def saved_path() -> Path:
    return SAVED


def _known(urls: CliSettings, admin_key: str) -> bool:
    headers = {"Authorization": f"Bearer {admin_key}"}
    resp = httpx.get(f"{urls.goals_url}/v1/strategy", headers=headers, timeout=30)
    return resp.status_code != 401


def _create(urls: CliSettings, operator_token: str) -> dict[str, str]:
    resp = httpx.post(
        f"{urls.goals_url}/v1/tenants",
        json={"slug": "acme"},
        headers={"Authorization": f"Bearer {operator_token}"},
        timeout=30,
    )
    if resp.status_code == 409:
        raise RuntimeError(
            f"goals has a tenant 'acme' whose keys are not in {SAVED}: "
            "start over as docs/demo.md says (empty database and .local/demo/)"
        )
    created = check(resp)
    admin = created["admin_api_key"]
    ingest = new_ingest_key(urls.goals_url, admin, "demo traffic")
    return {"tenant_id": created["tenant_id"], "admin_key": admin, "ingest_key": ingest}


def new_ingest_key(goals_url: str, admin_key: str, name: str, timeout_s: float = 30) -> str:
    """A new `ingest` key of the admin key's tenant (the demo's and the bench's traffic)."""
    resp = httpx.post(
        f"{goals_url}/v1/api-keys",
        json={"role": "ingest", "name": name},
        headers={"Authorization": f"Bearer {admin_key}"},
        timeout=timeout_s,
    )
    return str(check(resp)["api_key"])


def _with_secrets(saved: dict[str, str], fresh: bool = False) -> dict[str, str]:
    """The webhook secrets of the demo's sources, made once and kept with the keys."""
    if fresh or "hubspot_secret" not in saved:
        saved |= {"hubspot_secret": secrets.token_hex(16), "billing_secret": secrets.token_hex(16)}
        STATE.mkdir(parents=True, exist_ok=True)
        SAVED.write_text(json.dumps(saved, indent=2))
    return saved


def _feeds(saved: dict[str, str]) -> FeedSources:
    prefix = os.environ.get("KPI_TOPIC_PREFIX", "")
    return FeedSources("acme", saved["hubspot_secret"], saved["billing_secret"], prefix)
