"""HTTP access to the services for the `kpi` command: where they are, which key to send, and
the one place where a failure becomes a readable `CliError` with its exit code: a bad or
missing setting, a service that does not answer or answers too late, an error answer."""

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal, cast

import httpx
from pydantic import Field, PrivateAttr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# service -> (its variable name part, default port): KPI_<PART>_URL, else KPI_<PART>_PORT
SERVICES = {"goals": ("goals", 8001), "metrics-ingest": ("ingest", 8002),
            "evaluator": ("evaluator", 8003), "notifier": ("notifier", 8004),
            "web": ("web", 8005)}  # fmt: skip


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
    web_url: str = ""
    goals_port: int | None = None
    ingest_port: int | None = None
    evaluator_port: int | None = None
    notifier_port: int | None = None
    web_port: int | None = None
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


class ExitCode(IntEnum):
    """The exit codes of `kpi`, one per kind of failure (docs/cli.md#exit-codes)."""

    REFUSED = 1  # the service answered with an error (4xx), or the input is invalid
    USAGE = 2  # a wrong option or argument (click)
    CONFIG = 3  # a setting is missing or malformed (KPI_API_KEY, KPI_*_URL, ...)
    UNREACHABLE = 4  # no connection to the service
    TIMEOUT = 5  # the service did not answer within KPI_TIMEOUT_S
    SERVICE = 6  # the service failed (5xx) or answered something that is not its API
    UNCONFIRMED = 7  # a destructive change was not confirmed (`kpi apply` without --yes)
    REJECTED = 8  # `kpi send`: the file was sent, and metrics-ingest rejected some records
    NOT_READY = 9  # `kpi health`: a service does not answer ready
    INTERNAL = 70  # a bug in `kpi`: run again with --debug for the traceback
    INTERRUPTED = 130  # Ctrl-C


class CliError(Exception):
    """A failure to show the user as is: one or two lines, and its exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.REFUSED) -> None:
        super().__init__(message)
        self.code = code


ServiceName = Literal["goals", "ingest", "evaluator", "notifier", "web"]
# a service's name by its variable name part: `ingest` -> metrics-ingest (from SERVICES)
NAMES: dict[ServiceName, str] = {
    cast(ServiceName, part): name for name, (part, _) in SERVICES.items()
}


@dataclass(frozen=True)
class Service:
    name: str  # metrics-ingest
    variable: str  # KPI_INGEST_URL
    url: str

    def __str__(self) -> str:
        return f"{self.name} at {self.url}"


def load_settings() -> CliSettings:
    try:
        return CliSettings()
    except ValidationError as exc:
        where = ", ".join(f"KPI_{'.'.join(map(str, e['loc'])).upper()}" for e in exc.errors())
        raise CliError(
            f"malformed setting {where}: {exc.errors()[0]['msg']}", ExitCode.CONFIG
        ) from None


def service(settings: CliSettings, which: ServiceName) -> Service:
    """Where a service is, from its `KPI_*_URL`, which must be an http(s) URL with a host."""
    variable = f"KPI_{which.upper()}_URL"
    url = str(getattr(settings, f"{which}_url")).rstrip("/")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL("")
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise CliError(
            f"{variable}={url} is not an http(s) URL with a host\n"
            f"  set it with its scheme, e.g. {variable}=http://{url.split('://')[-1]}",
            ExitCode.CONFIG,
        )
    return Service(NAMES[which], variable, url)


def connect(
    which: ServiceName, credential: Literal["api_key", "operator_token"] = "api_key"
) -> httpx.Client:
    """A client for one service that sends the credential, checked to be set."""
    settings = load_settings()
    where = service(settings, which)
    token = getattr(settings, credential)
    if not token:
        variable = f"KPI_{credential.upper()}"
        hint = (
            "the operator token the goals service was started with"
            if credential == "operator_token"
            else "a key from `kpi tenants create` or `kpi keys create`"
        )
        raise CliError(f"{variable} is not set\n  export {variable}=<{hint}>", ExitCode.CONFIG)
    return httpx.Client(
        base_url=where.url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=settings.timeout_s,
        transport=Explained(where, settings.timeout_s),
    )


class Explained(httpx.BaseTransport):
    """The HTTP transport, with a transport failure turned into a CliError that names the
    service, its URL variable and what to do."""

    def __init__(self, where: Service, timeout_s: float) -> None:
        self.where = where
        self.timeout_s = timeout_s
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        what = f"{request.method} {request.url.path}"
        try:
            return self.inner.handle_request(request)
        except httpx.TimeoutException:
            raise CliError(
                f"{self.where.name} at {self.where.url} did not answer {what} within "
                f"{self.timeout_s:g} s\n  it may be overloaded: try again, or raise KPI_TIMEOUT_S",
                ExitCode.TIMEOUT,
            ) from None
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach {self.where} ({exc or type(exc).__name__})\n"
                f"  is it running? `kpi health` shows which services answer; "
                f"{self.where.variable} says where it is",
                ExitCode.UNREACHABLE,
            ) from None

    def close(self) -> None:
        self.inner.close()


def check(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer; otherwise a CliError with the error's field paths."""
    if response.is_success:
        return _json(response) if response.content else None
    code = ExitCode.SERVICE if response.status_code >= 500 else ExitCode.REFUSED
    try:
        error = response.json()["error"]
        lines = [f"{error.get('message', 'request failed')} (HTTP {response.status_code})"]
    except (ValueError, KeyError, TypeError):
        raise CliError(f"HTTP {response.status_code}: {response.text[:500]}", code) from None
    for item in error.get("errors", []):
        where = f" (line {item['line']})" if item.get("line") else ""
        lines.append(f"  {item.get('path') or '<document>'}{where}: {item.get('message')}")
    if response.status_code == 401:
        lines.append("  check KPI_API_KEY (KPI_OPERATOR_TOKEN for `kpi tenants create`)")
    raise CliError("\n".join(lines), code)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise CliError(
            f"{response.request.url} answered HTTP {response.status_code} but not with JSON: "
            f"{response.text[:200]!r}\n  is the URL that of the right service?",
            ExitCode.SERVICE,
        ) from None
