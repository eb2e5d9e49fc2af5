"""Typed, versioned events. Every message on every topic is an `Envelope` whose `data`
validates against the model registered for its (type, version).

A breaking change to a payload is a new version, registered beside the old one.
Each (type, version) has example payloads under `examples/`, validated by a test.
"""

from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from kpi_common.definitions import Definition

Scalar = str | int | float | bool
NodeType = Literal[
    "organization",
    "unit",
    "person",
    "goal",
    "objective",
    "success_factor",
    "kpi",
    "review",
    "alert_channel",
    "alert_route",
    "alert_inhibit",
]
Status = Literal["achieved", "on_track", "at_risk", "off_track", "no_data", "stale"]


class Envelope(BaseModel):
    """The wrapper every topic carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=200)
    type: str
    version: int = Field(ge=1)
    tenant_id: str = Field(min_length=1)
    time: AwareDatetime
    producer: str
    data: dict[str, Any]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricObserved(_Data):
    """One business fact as a number. The envelope id is the sender's event id."""

    metric: str
    value: float
    time: AwareDatetime
    dimensions: dict[str, Scalar] = Field(default_factory=dict)
    source_id: str = "api"
    received_at: AwareDatetime


class MetricRejected(_Data):
    source_id: str
    reason: str
    payload: str
    index: int | None = None


class TenantCreated(_Data):
    slug: str


class ApiKeyUpserted(_Data):
    """A key's hash (never the key), role and scope; `revoked` keys must be refused."""

    key_id: str
    key_hash: str
    role: Literal["admin", "editor", "viewer", "ingest"]
    unit_scope: str | None = None
    revoked: bool = False


class ApiKeyUpsertedV2(ApiKeyUpserted):
    """v1 with the key's `revision`: 1 when created, 2 when revoked (docs/events.md, "API
    keys"). Every consumer keeps the newest revision, and a revoked key stays revoked."""

    revision: int = Field(ge=1)


class NodeUpserted(_Data):
    """The full new definition of one node of the strategy; `revision` grows per node."""

    node_type: NodeType
    node_id: str
    revision: int = Field(ge=1)
    definition: dict[str, Any]


class NodeUpsertedV2(_Data):
    """The normalised, typed definition of one node (kpi_common.definitions); `revision`
    grows per node. Replaces v1, whose `definition` was the document entry as written."""

    node_type: NodeType
    node_id: str
    revision: int = Field(ge=1)
    definition: Definition

    @model_validator(mode="after")
    def _same_node(self) -> "NodeUpsertedV2":
        if self.definition.node_type != self.node_type:
            raise ValueError(
                f"definition is a {self.definition.node_type}, the node a {self.node_type}"
            )
        own_id = getattr(self.definition, "id", self.node_id)
        if own_id != self.node_id:
            raise ValueError(f"definition id {own_id!r} is not the node id {self.node_id!r}")
        return self


class NodeDeleted(_Data):
    node_type: NodeType
    node_id: str
    revision: int = Field(ge=1)


class KpiStatusChanged(_Data):
    kpi_id: str
    period: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None
    status: Status
    score: float | None = Field(default=None, ge=0, le=1)
    evaluated_at: AwareDatetime


class ChainLink(_Data):
    node_type: NodeType
    node_id: str
    title: str


class _Breach(_Data):
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
    # `page`: notify now (escalations, reminders). `restatement`: a period older than the
    # evaluator's paging horizon; the notifier sends one low-urgency notice per route for
    # all the breaches of one `restatement_id` (one batch of late events, one recompute).
    urgency: Literal["page", "restatement"] = "page"
    restatement_id: str | None = None
    restatement_reason: Literal["late_events", "definition_change", "recompute"] | None = None

    @model_validator(mode="after")
    def _restatement_has_an_id(self) -> "_Breach":
        if self.urgency == "restatement" and not self.restatement_id:
            raise ValueError("restatement_id: required when urgency is restatement")
        return self


class KpiBreachOpened(_Breach):
    opened_at: AwareDatetime


class KpiBreachResolved(_Breach):
    opened_at: AwareDatetime
    resolved_at: AwareDatetime


class _BurnRate(_Data):
    """A burn-rate rule's alert on one KPI period (docs/evaluator.md, "Burn-rate alerts"):
    the rates are shortfall accrued over each window / the budget's share of that window;
    `projected_shortfall` is the period's shortfall at the long window's pace (share of the
    target: `projected_shortfall_share`). `mode: shadow`: recorded, never sent."""

    alert_id: str
    kpi_id: str
    kpi_title: str
    unit_id: str
    owner: str | None
    perspective: str | None
    period: str
    period_start: AwareDatetime
    period_end: AwareDatetime
    rule: str
    route_id: str | None = None  # declared on this alert route (None: on the KPI)
    severity: Literal["warning", "critical"]
    mode: Literal["live", "shadow"]
    direction: Literal["increase", "decrease"]
    factor: float
    long_window_days: int
    short_window_days: int
    long_burn_rate: float | None  # None: no reading any more (the period ended)
    short_burn_rate: float | None
    budget_share: float
    status: Status
    actual: float | None
    target: float
    expected: float | None
    projected_shortfall: float | None
    projected_shortfall_share: float | None
    unit_of_measure: str | None = None
    so_that_chain: list[ChainLink]


class KpiBurnRateFired(_BurnRate):
    fired_at: AwareDatetime


class KpiBurnRateResolved(_BurnRate):
    fired_at: AwareDatetime
    resolved_at: AwareDatetime
    reason: Literal["recovered", "period_ended", "rule_removed"]


class NotificationSent(_Data):
    dedup_key: str
    kind: Literal[
        "breach",
        "resolved",
        "reminder",
        "escalation",
        "review",
        "digest",
        "test",
        "restatement",
        "burn",
        "burn_resolved",
        "incident",
        "incident_update",
        "incident_closed",
    ]
    channel: str
    recipient: str
    breach_id: str | None = None
    sent_at: AwareDatetime


class MessageDeadLettered(_Data):
    topic: str
    partition: int
    offset: int
    reason: str
    raw: str


EVENT_MODELS: dict[tuple[str, int], type[_Data]] = {
    ("metric.observed", 1): MetricObserved,
    ("metric.rejected", 1): MetricRejected,
    ("tenant.created", 1): TenantCreated,
    ("apikey.upserted", 1): ApiKeyUpserted,
    ("apikey.upserted", 2): ApiKeyUpsertedV2,
    ("node.upserted", 1): NodeUpserted,
    ("node.upserted", 2): NodeUpsertedV2,
    ("node.deleted", 1): NodeDeleted,
    ("kpi.status.changed", 1): KpiStatusChanged,
    ("kpi.breach.opened", 1): KpiBreachOpened,
    ("kpi.breach.resolved", 1): KpiBreachResolved,
    ("kpi.burn_rate.fired", 1): KpiBurnRateFired,
    ("kpi.burn_rate.resolved", 1): KpiBurnRateResolved,
    ("notification.sent", 1): NotificationSent,
    ("message.dead_lettered", 1): MessageDeadLettered,
}


class UnknownEvent(ValueError):
    pass


def make_envelope(
    *, id: str, tenant_id: str, producer: str, time: datetime, data: _Data
) -> Envelope:
    """Wrap a data model in an envelope, taking type and version from the registry."""
    for (type_, version), model in EVENT_MODELS.items():
        if model is type(data):
            return Envelope(
                id=id,
                type=type_,
                version=version,
                tenant_id=tenant_id,
                time=time,
                producer=producer,
                data=data.model_dump(mode="json"),
            )
    raise UnknownEvent(f"{type(data).__name__} is not a registered event model")


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(envelope.model_dump(mode="json"))


def decode(raw: bytes) -> Envelope:
    """Parse and validate an envelope and its data. Raises ValueError with the reason."""
    return decode_with_data(raw)[0]


def decode_with_data(raw: bytes) -> tuple[Envelope, _Data]:
    """`decode`, also returning the validated data model."""
    try:
        envelope = Envelope.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise ValueError(f"not a valid envelope: {exc}") from exc
    return envelope, parse_data(envelope)


def parse_data(envelope: Envelope) -> _Data:
    model = EVENT_MODELS.get((envelope.type, envelope.version))
    if model is None:
        raise UnknownEvent(f"unknown event type {envelope.type} v{envelope.version}")
    try:
        return model.model_validate(envelope.data)
    except ValidationError as exc:
        raise ValueError(f"invalid {envelope.type} v{envelope.version} data: {exc}") from exc
