"""HTTP access to the services for the `kpi` command: where they are, which key to send,
and one way to turn an error answer into a readable message."""

from typing import Any

import httpx
from pydantic import Field, PrivateAttr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# service -> (its variable name part, default port): KPI_<PART>_URL, else KPI_<PART>_PORT
SERVICES = {"goals": ("goals", 8001), "metrics-ingest": ("ingest", 8002),
            "evaluator": ("evaluator", 8003), "notifier": ("notifier", 8004)}  # fmt: skip


class CliSettings(BaseSettings):
    """`KPI_API_KEY`, `KPI_OPERATOR_TOKEN` and the service URLs: `KPI_GOALS_URL`, ...; when
    unset, `http://127.0.0.1:$KPI_GOALS_PORT` (the port `make up` gave it), else the default."""

    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore")

    api_key: str | None = None
    operator_token: str | None = None
    goals_url: str = ""
    ingest_url: str = ""
    evaluator_url: str = ""
    notifier_url: str = ""
    goals_port: int | None = None
    ingest_port: int | None = None
    evaluator_port: int | None = None
    notifier_port: int | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _urls_from_ports(self) -> "CliSettings":
        for part, default in SERVICES.values():
            var = f"KPI_{part.upper()}"
            if getattr(self, f"{part}_url"):
                self._sources[part] = f"{var}_URL"
                continue
            port = getattr(self, f"{part}_port")
            self._sources[part] = f"{var}_PORT" if port else "default"
            setattr(self, f"{part}_url", f"http://127.0.0.1:{port or default}")
        return self

    def urls(self) -> dict[str, tuple[str, str]]:
        """Each service's URL and where it came from (a variable, or the default)."""
        return {
            name: (getattr(self, f"{part}_url"), self._sources[part])
            for name, (part, _) in SERVICES.items()
        }


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
