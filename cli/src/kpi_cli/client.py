"""HTTP access to the services for the `kpi` command: where they are, which key to send,
and one way to turn an error answer into a readable message."""

from typing import Any

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CliSettings(BaseSettings):
    """`KPI_API_KEY`, `KPI_OPERATOR_TOKEN` and the service URLs (`KPI_GOALS_URL`, ...)."""

    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore")

    api_key: str | None = None
    operator_token: str | None = None
    goals_url: str = "http://127.0.0.1:8001"
    ingest_url: str = "http://127.0.0.1:8002"
    evaluator_url: str = "http://127.0.0.1:8003"
    notifier_url: str = "http://127.0.0.1:8004"
    timeout_s: float = Field(default=30.0, gt=0)


class CliError(Exception):
    """A failure to show the user as is (exit code 1)."""


def client(base_url: str, token: str | None, settings: CliSettings) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base_url, headers=headers, timeout=settings.timeout_s)


def check(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; otherwise a CliError with the error's field paths."""
    if response.is_success:
        return response.json() if response.content else None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        raise CliError(f"HTTP {response.status_code}: {response.text[:500]}") from None
    lines = [f"{error.get('message', 'request failed')} (HTTP {response.status_code})"]
    for item in error.get("errors", []):
        where = f" (line {item['line']})" if item.get("line") else ""
        lines.append(f"  {item.get('path') or '<document>'}{where}: {item.get('message')}")
    raise CliError("\n".join(lines))
