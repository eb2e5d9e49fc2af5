"""The strategy document (the format of `examples/acme/strategy.yaml`) as pydantic models.

The models check shape and types only (unknown fields, wrong types, invalid dates,
periods and durations); references between entries, duplicates and cycles are checked by
`kpi_goals.validation` on the validated document. Unions carry explicit tags so an error
names one field path, not one per union member.
"""

import re
from datetime import date
from typing import Annotated, Any, Literal

from kpi_common.definitions import group_wait as wait_text
from kpi_common.definitions import month_day, time_zone
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
)
from pydantic import (
    Strict as StrictType,
)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[mhdw]$")]
Percent = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?%$")]
Perspective = Literal[
    "financial", "customer", "internal_process", "learning_and_growth", "innovation"
]
Aggregation = Literal["sum", "count", "avg", "min", "max", "last"]
PeriodName = Literal["day", "week", "month", "quarter", "year"]
Cadence = Literal["weekly", "monthly", "quarterly", "half_yearly", "yearly"]
Scalar = str | int | float | bool
Number = Annotated[float, StrictType()]  # ints and floats; never "50" or true
Count = Annotated[int, StrictType()]
OneOrMany = Id | list[Id]
Severity = Literal["warning", "critical"]

PERIOD_LABELS: dict[str, str] = {
    "year": r"^\d{4}$",
    "quarter": r"^\d{4}-Q[1-4]$",
    "month": r"^\d{4}-(0[1-9]|1[0-2])$",
    "week": r"^\d{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$",
    "day": r"^\d{4}-\d{2}-\d{2}$",
}
# Tags of the unions below: they appear in pydantic error locations and are stripped
# from the field paths shown to users.
UNION_TAGS = frozenset(
    {
        "metric_measure",
        "ratio_measure",
        "formula_measure",
        "absolute",
        "relative",
        "range",
        "named_period",
        "rolling_period",
    }
)


def _day(value: str) -> str:
    """A date stays the string written (`2026-12-31`), checked to be a real day."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date (YYYY-MM-DD)") from None
    return value


Day = Annotated[str, AfterValidator(_day)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Organization(Strict):
    name: Text
    fiscal_year_start: Annotated[str, AfterValidator(month_day)] = "01-01"
    timezone: Annotated[str, AfterValidator(time_zone)] = "UTC"
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] | None = None
    vision: Text | None = None
    mission: Text | None = None


class Unit(Strict):
    id: Id
    name: Text
    parent: Id | None = None
    owner: Id | None = None


class Person(Strict):
    id: Id
    name: Text
    unit: Id | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    slack: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class Goal(Strict):
    id: Id
    title: Text
    unit: Id | None = None
    owner: Id | None = None
    perspective: Perspective | None = None
    description: Text | None = None
    supports: OneOrMany | None = None
    due: Day | None = None


class Objective(Goal):
    pass


class SuccessFactor(Strict):
    id: Id
    title: Text
    unit: Id | None = None
    owner: Id | None = None
    description: Text | None = None
    supports: OneOrMany | None = None


class MetricMeasure(Strict):
    metric: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    aggregation: Aggregation
    field: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    where: dict[str, Scalar] | None = None


class Ratio(Strict):
    numerator: MetricMeasure
    denominator: MetricMeasure


class RatioMeasure(Strict):
    ratio: Ratio


class FormulaMeasure(Strict):
    formula: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


def _measure_kind(value: Any) -> str:
    if isinstance(value, dict) and "ratio" in value:
        return "ratio_measure"
    if isinstance(value, dict) and "formula" in value:
        return "formula_measure"
    return "metric_measure"


Measure = Annotated[
    Annotated[MetricMeasure, Tag("metric_measure")]
    | Annotated[RatioMeasure, Tag("ratio_measure")]
    | Annotated[FormulaMeasure, Tag("formula_measure")],
    Discriminator(_measure_kind),
]


class RelativeTarget(Strict):
    increase_by: Percent | Number | None = None
    decrease_by: Percent | Number | None = None


class RangeTarget(Strict):
    min: Number
    max: Number


def _target_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "range" if {"min", "max"} & set(value) else "relative"
    return "absolute"


Target = Annotated[
    Annotated[Number, Tag("absolute")]
    | Annotated[RelativeTarget, Tag("relative")]
    | Annotated[RangeTarget, Tag("range")],
    Discriminator(_target_kind),
]


class PeriodTarget(Strict):
    period: Annotated[str, StringConstraints(min_length=4, max_length=20)]
    value: Number
    reason: Text | None = None


class RollingPeriod(Strict):
    rolling_days: Count = Field(ge=1, le=3660)


Period = Annotated[
    Annotated[PeriodName, Tag("named_period")] | Annotated[RollingPeriod, Tag("rolling_period")],
    Discriminator(lambda v: "rolling_period" if isinstance(v, dict) else "named_period"),
]


class BurnRate(Strict):
    """A burn-rate rule (docs/strategy.md, "Burn-rate alerts"); windows in days or weeks."""

    long: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[dw]$")]
    short: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[dw]$")]
    factor: Number = Field(gt=0, le=1000)
    budget: Percent | None = None
    severity: Severity = "warning"
    mode: Literal["live", "shadow"] = "live"


class Kpi(Strict):
    id: Id
    title: Text
    unit: Id | None = None
    owner: Id | None = None
    so_that: OneOrMany | None = None
    perspective: Perspective | None = None
    description: Text | None = None
    measure: Measure | None = None
    period: Period | None = None
    direction: Literal["increase", "decrease", "range"] = "increase"
    unit_of_measure: Annotated[str, StringConstraints(min_length=1, max_length=50)] | None = None
    baseline: Number | None = None
    target: Target | None = None
    targets: list[PeriodTarget] | None = None
    at_risk_below: Number | None = Field(default=None, gt=0, le=1)
    weight: Number | None = Field(default=None, ge=0)
    contributes_to: Id | None = None
    due: Day | None = None
    burn_rates: list[BurnRate] | None = None


class Review(Strict):
    id: Id
    title: Text | None = None
    unit: Id | None = None
    cadence: Cadence
    next: Day
    remind_before: list[Duration] = Field(default_factory=list)
    attendees: list[Id] = Field(default_factory=list)


class SlackChannel(Strict):
    webhook_url: Annotated[str, StringConstraints(min_length=1)]


class EmailChannel(Strict):
    to: list[Annotated[str, StringConstraints(min_length=3)]] = Field(min_length=1)


class WebhookChannel(Strict):
    url: Annotated[str, StringConstraints(min_length=1)]
    secret: str | None = None


class Channel(Strict):
    slack: SlackChannel | None = None
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None


class RouteMatch(Strict):
    """Every key given must hold; each takes one value or a list of alternatives."""

    unit: OneOrMany | None = None
    kpi: OneOrMany | None = None
    perspective: Perspective | list[Perspective] | None = None
    severity: Severity | list[Severity] | None = None


class Route(Strict):
    match: RouteMatch | None = None
    notify: list[Id] = Field(min_length=1)
    escalate_after: Duration | None = None
    mode: Literal["live", "shadow"] = "live"
    burn_rates: list[BurnRate] | None = None
    group_wait: Annotated[str, AfterValidator(wait_text)] | None = None


InhibitLabel = Literal["unit", "kpi", "perspective"]


class InhibitRule(Strict):
    """While a breach matching `source` is open, mute breaches matching `target` whose
    `equal` labels have the source's values."""

    source: RouteMatch | None = None
    target: RouteMatch | None = None
    equal: list[InhibitLabel] = Field(default_factory=list)


# The documented default when a document declares no `alerts.inhibit` (`[]`: none).
DEFAULT_INHIBIT: list[dict[str, Any]] = [
    {"source": {"severity": "critical"}, "target": {"severity": "warning"}, "equal": ["unit"]}
]


class Alerts(Strict):
    channels: dict[Id, Channel] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    inhibit: list[InhibitRule] | None = Field(default=None, max_length=100)


class StrategyDocument(Strict):
    """A tenant's whole strategy: applying it makes the cascade match it."""

    version: Literal[1] = 1
    organization: Organization
    units: list[Unit] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    goals: list[Goal] = Field(default_factory=list)
    objectives: list[Objective] = Field(default_factory=list)
    success_factors: list[SuccessFactor] = Field(default_factory=list)
    kpis: list[Kpi] = Field(default_factory=list)
    reviews: list[Review] = Field(default_factory=list)
    alerts: Alerts = Field(default_factory=Alerts)


def as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
