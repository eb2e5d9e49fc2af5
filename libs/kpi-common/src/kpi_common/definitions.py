"""The strategy contract: one typed definition per node of the cascade (`node.upserted` v2).

Goals publishes every node normalised (docs/events.md, "goals.changes v2"): defaults filled
in, `supports` and `so_that` always lists, relative and per-period targets resolved to
numbers per period key, formula inputs listed. Consumers parse a definition once, where it
arrives, and keep no rules of the document of their own: a KPI's target for a period is a
lookup (`KpiTargets.for_period`), never arithmetic.

These are shapes only (like the other event schemas); the rules that fill them live in
goals (`kpi_goals.contract`).
"""

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

Scalar = str | int | float | bool


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"
    RANGE = "range"  # on target inside a band `[low, high]`


class Aggregation(StrEnum):
    SUM = "sum"
    COUNT = "count"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    LAST = "last"


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    WEEK = "week"
    DAY = "day"


class Perspective(StrEnum):
    FINANCIAL = "financial"
    CUSTOMER = "customer"
    INTERNAL_PROCESS = "internal_process"
    LEARNING_AND_GROWTH = "learning_and_growth"
    INNOVATION = "innovation"


class Cadence(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def month_day(value: str) -> str:
    """A fiscal year start a calendar can be built on (consumers build it from this); the
    strategy document checks `organization.fiscal_year_start` with it too."""
    if not re.fullmatch(r"\d{2}-\d{2}", value):
        raise ValueError("must be MM-DD")
    date.fromisoformat(f"2024-{value}")  # a leap year: 02-29 is allowed
    return value


GROUP_WAIT_MAX_S = 600
_WAIT = re.compile(r"^([0-9]{1,6})(ms|s|m)$")


def group_wait_seconds(value: str) -> float:
    """A route's grouping wait (`300ms`, `2s`, `1m`, `0s` for none) in seconds, at most
    10m; the strategy document checks `alerts.routes[].group_wait` with it too."""
    found = _WAIT.fullmatch(value)
    if found is None:
        raise ValueError("must be a wait such as 300ms, 2s or 1m")
    seconds = int(found.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[found.group(2)]
    if seconds > GROUP_WAIT_MAX_S:
        raise ValueError(f"must be at most 10m ({GROUP_WAIT_MAX_S} s), got {value}")
    return seconds


def group_wait(value: str) -> str:
    group_wait_seconds(value)
    return value


def time_zone(value: str) -> str:
    """An IANA time zone name (the document's `organization.timezone` too)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class OrganizationDef(_Shape):
    node_type: Literal["organization"] = "organization"
    name: str
    fiscal_year_start: Annotated[str, AfterValidator(month_day)] = "01-01"  # MM-DD
    timezone: Annotated[str, AfterValidator(time_zone)] = "UTC"  # IANA
    currency: str | None = None
    vision: str | None = None
    mission: str | None = None


class UnitDef(_Shape):
    node_type: Literal["unit"] = "unit"
    id: str
    name: str
    parent: str | None = None
    owner: str | None = None


class PersonDef(_Shape):
    node_type: Literal["person"] = "person"
    id: str
    name: str
    unit: str | None = None
    email: str | None = None
    slack: str | None = None


class _Aim(_Shape):
    """What goals and objectives share: a titled aim that `supports` others."""

    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    perspective: Perspective | None = None
    description: str | None = None
    supports: list[str] = Field(default_factory=list)
    due: date | None = None


class GoalDef(_Aim):
    node_type: Literal["goal"] = "goal"


class ObjectiveDef(_Aim):
    node_type: Literal["objective"] = "objective"


class SuccessFactorDef(_Shape):
    node_type: Literal["success_factor"] = "success_factor"
    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    description: str | None = None
    supports: list[str] = Field(default_factory=list)


class MetricMeasureDef(_Shape):
    """Events of `metric` whose dimensions match every `where` pair, aggregated; `field`
    names the dimension that holds the number (`None`: the event's value)."""

    metric: str
    aggregation: Aggregation
    field: str | None = None
    where: dict[str, Scalar] = Field(default_factory=dict)


class MeasureDef(_Shape):
    """Exactly one form: `metric`, `ratio` (numerator / denominator) or `formula`; `none`
    for a KPI that is defined but not measured yet."""

    kind: Literal["metric", "ratio", "formula", "none"]
    metric: MetricMeasureDef | None = None
    numerator: MetricMeasureDef | None = None
    denominator: MetricMeasureDef | None = None
    formula: str | None = None
    inputs: list[str] = Field(default_factory=list)  # KPI ids a formula uses, in order

    def parts(self) -> dict[str, MetricMeasureDef]:
        """The metric parts by component name: `value`, or `num` and `den`."""
        if self.metric is not None:
            return {"value": self.metric}
        if self.numerator is not None and self.denominator is not None:
            return {"num": self.numerator, "den": self.denominator}
        return {}


class TargetBand(_Shape):
    low: float
    high: float


class KpiTargets(_Shape):
    """A KPI's targets, resolved: `periods` names the value of a period key (fiscal year
    named by the calendar year it starts in); any other period has `default`. A `range`
    KPI has a `band` instead of numbers."""

    default: float | None = None
    periods: dict[str, float] = Field(default_factory=dict)
    reasons: dict[str, str] = Field(default_factory=dict)
    band: TargetBand | None = None

    def for_period(self, period_key: str) -> float | None:
        return self.periods.get(period_key, self.default)


class BurnRateDef(_Shape):
    """A burn-rate rule (docs/strategy.md, "Burn-rate alerts"): fire when the period's
    budget (`budget`, a share of the target; None: 1 - the KPI's `at_risk_below`) is being
    spent more than `factor` times too fast over both the last `long_days` and the last
    `short_days`. `mode: shadow` alerts are recorded by the notifier, never sent."""

    long_days: int = Field(ge=1)
    short_days: int = Field(ge=1)
    factor: float = Field(gt=0)
    budget: float | None = Field(default=None, gt=0, le=1)
    severity: Severity = Severity.WARNING
    mode: Literal["live", "shadow"] = "live"

    @property
    def key(self) -> str:
        """What names the rule in alert ids: its windows and factor (`7d-1d-x2`)."""
        return f"{self.long_days}d-{self.short_days}d-x{self.factor:g}"


class KpiDef(_Shape):
    node_type: Literal["kpi"] = "kpi"
    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    so_that: list[str] = Field(default_factory=list)
    perspective: Perspective | None = None
    description: str | None = None
    measure: MeasureDef
    period: PeriodKind
    rolling_days: int | None = None  # a rolling window of N days ending today (period: day)
    direction: Direction
    unit_of_measure: str | None = None
    baseline: float | None = None
    targets: KpiTargets
    at_risk_below: float = Field(gt=0, le=1)
    weight: float = Field(ge=0)
    contributes_to: str | None = None
    due: date | None = None
    burn_rates: list[BurnRateDef] = Field(default_factory=list)


class ReviewDef(_Shape):
    node_type: Literal["review"] = "review"
    id: str
    title: str | None = None
    unit: str | None = None
    cadence: Cadence
    next: date
    remind_before: list[str] = Field(default_factory=list)  # durations: 7d, 12h, 30m, 2w
    attendees: list[str] = Field(default_factory=list)


class SlackChannelDef(_Shape):
    webhook_url: str  # may hold ${VAR}s, resolved by the notifier from its environment


class EmailChannelDef(_Shape):
    to: list[str]


class WebhookChannelDef(_Shape):
    url: str
    secret: str | None = None


class AlertChannelDef(_Shape):
    node_type: Literal["alert_channel"] = "alert_channel"
    id: str
    kind: Literal["slack", "email", "webhook"]
    slack: SlackChannelDef | None = None
    email: EmailChannelDef | None = None
    webhook: WebhookChannelDef | None = None


class RouteMatchDef(_Shape):
    """Every non-empty list must contain the breach's value (empty: any)."""

    unit: list[str] = Field(default_factory=list)
    kpi: list[str] = Field(default_factory=list)
    perspective: list[Perspective] = Field(default_factory=list)
    severity: list[Severity] = Field(default_factory=list)


class AlertRouteDef(_Shape):
    node_type: Literal["alert_route"] = "alert_route"
    id: str  # the route's position in the document, from "0"
    match: RouteMatchDef = Field(default_factory=RouteMatchDef)
    notify: list[str]
    escalate_after: str | None = None
    # `shadow`: evaluated on the live stream, recorded instead of sent (docs/notifier.md).
    mode: Literal["live", "shadow"] = "live"
    burn_rates: list[BurnRateDef] = Field(default_factory=list)  # for each KPI it matches
    # How long a new incident's first notification waits for the rest of its breaches
    # (`300ms`, `2s`, `1m`); None: the notifier's KPI_NOTIFIER_GROUP_WAIT_S.
    group_wait: str | None = None


InhibitLabel = Literal["unit", "kpi", "perspective"]


class InhibitRuleDef(_Shape):
    """While a breach matching `source` is open, a breach matching `target` whose `equal`
    values are the source's is muted (Alertmanager's inhibit_rules). `implicit`: the
    documented default, published because the document declared no `alerts.inhibit`."""

    node_type: Literal["alert_inhibit"] = "alert_inhibit"
    id: str  # the rule's position in the document, from "0"
    source: RouteMatchDef = Field(default_factory=RouteMatchDef)
    target: RouteMatchDef = Field(default_factory=RouteMatchDef)
    equal: list[InhibitLabel] = Field(default_factory=list)
    implicit: bool = False


Definition = Annotated[
    OrganizationDef
    | UnitDef
    | PersonDef
    | GoalDef
    | ObjectiveDef
    | SuccessFactorDef
    | KpiDef
    | ReviewDef
    | AlertChannelDef
    | AlertRouteDef
    | InhibitRuleDef,
    Field(discriminator="node_type"),
]
DEFINITION: TypeAdapter[Definition] = TypeAdapter(Definition)


def parse_definition(raw: object) -> Definition:
    """A definition from its JSON form. Raises pydantic.ValidationError."""
    return DEFINITION.validate_python(raw)
