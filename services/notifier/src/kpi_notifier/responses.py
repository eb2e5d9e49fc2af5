"""What the notifier's routes answer (their 2xx bodies), for the OpenAPI document."""

from datetime import date, datetime
from typing import Literal

from kpi_common.events import ChainLink, Status
from kpi_common.responses import Answer
from pydantic import ConfigDict, Field


class Delivery(Answer):
    id: int
    dedup_key: str
    kind: str
    channel: str
    channel_kind: str
    recipient: str
    breach_id: str | None
    status: Literal["pending", "sending", "sent", "dead", "suppressed", "cancelled"]
    attempts: int
    last_error: str | None
    redelivered: int
    suppressed_by: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


class BreachAnswer(Answer):
    """The facts of the breach as the evaluator published them, and the notifier's progress.
    A later version of the breach event may add facts; they are passed through."""

    model_config = ConfigDict(extra="allow")
    breach_id: str
    kpi_id: str
    kpi_title: str
    unit_id: str
    owner: str | None
    perspective: str | None
    period: str
    status: Status
    severity: Literal["warning", "critical"]
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None
    unit_of_measure: str | None = None
    so_that_chain: list[ChainLink]
    opened_at: datetime
    acked_at: datetime | None
    resolved_at: datetime | None


class Acked(Answer):
    breach_id: str
    acked_at: datetime
    acked_by: str | None = Field(description="null when the breach was already acknowledged")


class Silence(Answer):
    id: str
    matchers: dict[str, str | list[str]]
    starts_at: datetime
    ends_at: datetime
    comment: str | None
    created_by: str | None


class TestQueued(Answer):
    dedup_key: str
    channel: str
    recipient: str
    status: Literal["pending"]


class ReviewHeld(Answer):
    review_id: str
    held: date
    next_due: date


class DigestSubscribed(Answer):
    unit: str
    owner: str | None = Field(description="who gets the digest")


class DigestListed(Answer):
    unit: str
