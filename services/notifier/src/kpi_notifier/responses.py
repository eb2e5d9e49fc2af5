"""What the notifier's routes answer (their 2xx bodies), for the OpenAPI document."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from kpi_common.events import (
    ChainLink,
    KpiBreachOpened,
    KpiBreachResolved,
    KpiBurnRateFired,
    KpiBurnRateResolved,
)
from kpi_common.responses import Answer, Described
from pydantic import ConfigDict, Field

# The facts of a `kpi.breaches` event as the notifier consumed them (its `data`).
TransitionFacts = Annotated[
    dict[str, Any],
    Described(KpiBreachOpened | KpiBreachResolved | KpiBurnRateFired | KpiBurnRateResolved),
]


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
    resent_at: datetime | None
    resent_by: str | None
    resends: int


class BreachAnswer(KpiBreachOpened):
    """The facts of the breach as the evaluator published them (`kpi.breach.opened`), and
    the notifier's progress. A later version of the event may add facts; they pass through."""

    model_config = ConfigDict(extra="allow", frozen=False)
    acked_at: datetime | None
    resolved_at: datetime | None


class ManyBreaches(Answer):
    breaches: list[BreachAnswer] = Field(
        description="those asked that the notifier knows, in the order asked"
    )


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


class Resent(Delivery):
    """The notification after a resend was asked: queued again, or already on its way."""


class ReviewStatus(Answer):
    """A review cycle as the notifier knows it: the date due now, past the held ones."""

    review_id: str
    title: str | None
    unit: str | None
    cadence: str
    next_due: str
    last_held: str | None
    overdue: bool
    days_overdue: int
    since: str = Field(
        description="what the review due now looks back to: the last date held before it, "
        "else the date of the series before it (the review pack covers since then)"
    )


class ReviewFinding(Answer):
    """An overdue review as an alignment finding (the shape of goals' `GET /v1/alignment`),
    with the dates behind it."""

    rule: Literal["review_overdue"]
    severity: Literal["warning"]
    node_type: Literal["review"]
    node_id: str = Field(description="the review id")
    explanation: str
    suggested_fix: str
    next_due: date = Field(description="the date due now: the first not recorded as held")
    days_overdue: int
    last_held: date | None


class FindingCounts(Answer):
    error: int
    warning: int
    info: int


class FindingRule(Answer):
    id: str
    severity: Literal["error", "warning", "info"]
    description: str


class Findings(Answer):
    findings: list[ReviewFinding]
    counts: FindingCounts
    rules: list[FindingRule]


class ShadowEntry(Answer):
    """What a shadow route or a shadow transition would have sent, never sent."""

    id: int
    dedup_key: str
    kind: str
    reason: Literal["route", "transition"] = Field(
        description="`route`: a `mode: shadow` route; `transition`: the transition said so"
    )
    route: int | None = Field(description="the shadow route's position (null: a transition)")
    channel: str
    channel_kind: str
    recipient: str
    breach_id: str | None
    suppressed_by: str | None = Field(description="a silence that would have held it back")
    recorded_at: datetime
    transition: TransitionFacts | None = Field(
        description="the facts of the kpi.breaches event (null: a delivery of no transition)"
    )
    subject: str
    text: str


class InboxBreach(Answer):
    breach_id: str
    kpi_id: str
    kpi_title: str
    unit_id: str
    severity: str
    status: str | None
    period: str | None
    actual: float | None
    target: float | None
    opened_at: datetime
    reminders_sent: int


class InboxReview(Answer):
    review_id: str
    title: str | None
    unit: str | None
    due: date
    notice: str = Field(description="`before-7d`, ... (a reminder window opened) or `overdue`")
    overdue: bool
    days_overdue: int


class InboxKpi(Answer):
    kpi_id: str
    title: str
    unit: str | None
    status: Literal["no_data", "stale"]
    period: str | None
    evaluated_at: datetime | None


class Inbox(Answer):
    """What a person owes now, one list per section (kpi_notifier.inbox.SECTIONS)."""

    person: str
    name: str
    as_of: datetime
    count: int = Field(description="items in all sections")
    breaches: list[InboxBreach]
    reviews: list[InboxReview]
    kpis: list[InboxKpi]


class IncidentBreach(Answer):
    """One breach of an incident: a root cause (with its `share` of the gap) or a parent."""

    breach_id: str
    kpi_id: str | None
    kpi_title: str | None
    unit_id: str | None
    period: str | None
    status: str | None
    severity: str | None
    actual: float | None
    target: float | None
    expected: float | None
    unit_of_measure: str | None
    resolved: bool
    gap: float | None = Field(
        description="the shortfall to date: |expected (else target) - actual|"
    )
    share: float | None = Field(
        description="a root cause's share of its nearest parent's gap (else of the causes' "
        "summed gaps), 0.6 = 60%; null for a parent or when a gap is unknown"
    )


class Incident(Answer):
    incident_id: str
    group_key: str = Field(description="the top KPI of the `contributes_to` chain")
    title: str
    state: Literal["open", "acked", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    breach_ids: list[str]
    causes: list[IncidentBreach]
    parents: list[IncidentBreach]
    so_that_chain: list[ChainLink]


class IncidentAcked(Answer):
    incident_id: str
    acked_at: datetime
    acked_by: str | None = Field(description="null when the incident was already acknowledged")
    breach_ids: list[str] = Field(description="its breaches, each now acknowledged")
