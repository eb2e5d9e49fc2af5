"""What the intake's routes answer (their 2xx bodies), for the OpenAPI document.

These routes render their answers themselves (`POST /v1/events` also from the lean path,
kpi_ingest.lean, which never reaches FastAPI), so the models document the bodies; tests
validate what the routes send against them."""

from datetime import datetime

from kpi_common.responses import Answer
from pydantic import Field

from kpi_ingest.sources.model import Kind, Scheme


class Rejected(Answer):
    index: int | None = Field(description="the event's position in the request; null: all")
    reason: str


class EventsAccepted(Answer):
    accepted: int = Field(description="events new to the service, acknowledged by Kafka")
    duplicates: int = Field(description="events whose id the service had already accepted")
    rejected: list[Rejected]


class PublicSignature(Answer):
    scheme: Scheme
    secret: str = Field(description='always "***"')
    header: str | None = None
    public_url: str | None = None


class PublicRule(Answer):
    for_each: str
    when: str | None = None
    id: str
    metric: str
    value: str
    time: str | None = None
    dimensions: dict[str, str]


class SourceAnswer(Answer):
    """The source as stored, never its secret."""

    id: str
    kind: Kind
    signature: PublicSignature | None = None
    topic: str | None = None
    mapping: list[PublicRule]
    webhook_url: str


class SourceReject(Answer):
    id: int
    reason: str
    payload: str
    received_at: datetime


class SourceRejects(Answer):
    items: list[SourceReject]


class SourceRejectCount(Answer):
    id: str
    kind: Kind
    rejects: int = Field(description="payloads and events of the source dead-lettered so far")
    last_reason: str | None = Field(description="the newest reject's reason")
    last_received_at: datetime | None


class SourceRejectSummary(Answer):
    """The tenant's sources with their rejects (docs/sources.md)."""

    sources: list[SourceRejectCount]
