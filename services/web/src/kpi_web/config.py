"""The web service's settings, read once (every variable is listed in docs/web.md).

The web view owns no tables and consumes no topic: it needs only where the other services
are. Each URL is `KPI_WEB_<SERVICE>_URL`, else `http://127.0.0.1:$KPI_<SERVICE>_PORT` (the
port `make up` gave the service), else the service's default port.
"""

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE = "web"
DEFAULT_PORTS = {"goals": 8001, "evaluator": 8003, "notifier": 8004}


def _alias(name: str) -> str:
    return f"KPI_WEB_{name.upper()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KPI_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8005, ge=1, le=65535, validation_alias=_alias("port"))
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: str = Field(default="console", pattern="^(console|json)$")
    goals_url: str = Field(default="", validation_alias=_alias("goals_url"))
    evaluator_url: str = Field(default="", validation_alias=_alias("evaluator_url"))
    notifier_url: str = Field(default="", validation_alias=_alias("notifier_url"))
    goals_port: int | None = Field(default=None, validation_alias="KPI_GOALS_PORT")
    evaluator_port: int | None = Field(default=None, validation_alias="KPI_EVALUATOR_PORT")
    notifier_port: int | None = Field(default=None, validation_alias="KPI_NOTIFIER_PORT")
    # How long one call to another service may take before the page answers 503.
    upstream_timeout_s: float = Field(default=10.0, gt=0, validation_alias=_alias("timeout_s"))
    # How long a login lasts, and how many logins the process keeps (oldest dropped first).
    session_ttl_s: float = Field(default=12 * 3600, gt=0, validation_alias=_alias("session_ttl_s"))
    max_sessions: int = Field(default=10_000, ge=1, validation_alias=_alias("max_sessions"))
    # Send the session cookie with `Secure` (set when served over HTTPS).
    secure_cookie: bool = Field(default=False, validation_alias=_alias("secure_cookie"))

    @model_validator(mode="after")
    def _check_urls(self) -> "Settings":
        for name in DEFAULT_PORTS:
            url = getattr(self, f"{name}_url")
            if url and not url.startswith(("http://", "https://")):
                raise ValueError(f"{_alias(name + '_url')} must be an http(s) URL, got {url!r}")
        return self

    def url_of(self, service: str) -> str:
        """The base URL of `service` (goals, evaluator or notifier)."""
        url: str = getattr(self, f"{service}_url")
        if url:
            return url.rstrip("/")
        port = getattr(self, f"{service}_port") or DEFAULT_PORTS[service]
        return f"http://127.0.0.1:{port}"
