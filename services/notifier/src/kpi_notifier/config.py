"""The notifier service's settings: the shared ones plus its own, read once.

Every variable is listed in docs/notifier.md.
"""

from kpi_common.settings import ServiceSettings
from pydantic import Field

SERVICE = "notifier"
SCHEMA = "notifier"


def _alias(name: str) -> str:
    return f"KPI_NOTIFIER_{name.upper()}"


class Settings(ServiceSettings):
    port: int = Field(default=8004, validation_alias="KPI_NOTIFIER_PORT")
    consumer_group: str = Field(default="notifier", validation_alias=_alias("consumer_group"))
    # Where people open the web view (e.g. https://kpi.example.com); review reminders link
    # the review's pack there. Empty: no link.
    web_url: str = Field(
        default="", pattern=r"^(https?://\S+)?$", validation_alias=_alias("web_url")
    )
    # How long breaches and statuses wait, at start, for the strategy to be read to its end.
    strategy_catch_up_s: float = Field(
        default=60.0, gt=0, validation_alias=_alias("strategy_catch_up_s")
    )

    # Email over SMTP (KPI_SMTP_*).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "kpi-cascade <notifier@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout_s: float = Field(default=10.0, gt=0)

    # Delivery: retries with exponential backoff, then a dead letter.
    max_attempts: int = Field(default=5, ge=1, validation_alias=_alias("max_attempts"))
    retry_base_s: float = Field(default=2.0, gt=0, validation_alias=_alias("retry_base_s"))
    retry_max_s: float = Field(default=900.0, gt=0, validation_alias=_alias("retry_max_s"))
    send_lease_s: float = Field(default=30.0, gt=0, validation_alias=_alias("send_lease_s"))
    sender_poll_s: float = Field(default=0.5, gt=0, validation_alias=_alias("sender_poll_s"))
    http_timeout_s: float = Field(default=10.0, gt=0, validation_alias=_alias("http_timeout_s"))
    slack_min_interval_s: float = Field(
        default=1.0, ge=0, validation_alias=_alias("slack_min_interval_s")
    )

    # Time-driven work: reminders, escalation, review reminders, digests.
    reminder_interval: str = Field(default="1d", validation_alias=_alias("reminder_interval"))
    tick_interval_s: float = Field(default=30.0, gt=0, validation_alias=_alias("tick_interval_s"))
    digest_window_s: float = Field(default=0.0, ge=0, validation_alias=_alias("digest_window_s"))
    # A restatement notice waits this long for the rest of its run's breaches.
    restatement_window_s: float = Field(
        default=60.0, ge=0, validation_alias=_alias("restatement_window_s")
    )
    # An incident's new notification waits this long for the rest of its breaches, unless
    # the route sets `group_wait` (docs/notifier.md#incidents).
    group_wait_s: float = Field(default=1.0, ge=0, le=600, validation_alias=_alias("group_wait_s"))

    # Shadow mode: how long the shadow log keeps what shadow routes would have sent.
    shadow_retention_days: float = Field(
        default=30.0, gt=0, le=366, validation_alias=_alias("shadow_retention_days")
    )
    # The weekly inbox digest (Monday 08:00, organisation's timezone): off unless true.
    inbox_digest: bool = Field(default=False, validation_alias=_alias("inbox_digest"))
