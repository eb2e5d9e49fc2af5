"""What the pages read from the other services, parsed once where it enters the process.

Only the fields the pages use; a field a newer service adds is ignored. The strategy
document's entries are as written (`supports: x` or `supports: [x, y]`), so lists are
normalised here.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _as_list(value: Any) -> Any:
    if value is None:
        return []
    return [value] if isinstance(value, str) else value


IdList = Annotated[list[str], BeforeValidator(_as_list)]


class Read(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Organization(Read):
    name: str | None = None
    vision: str | None = None


class Unit(Read):
    id: str
    name: str | None = None
    parent: str | None = None


class Aim(Read):
    """A goal, objective or success factor as written in the strategy document."""

    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    perspective: str | None = None
    supports: IdList = Field(default_factory=list)


class KpiDoc(Read):
    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    perspective: str | None = None
    so_that: IdList = Field(default_factory=list)
    contributes_to: str | None = None
    unit_of_measure: str | None = None
    direction: str | None = None
    period: str | None = None


class Strategy(Read):
    organization: Organization | None = None
    units: list[Unit] = Field(default_factory=list)
    goals: list[Aim] = Field(default_factory=list)
    objectives: list[Aim] = Field(default_factory=list)
    success_factors: list[Aim] = Field(default_factory=list)
    kpis: list[KpiDoc] = Field(default_factory=list)

    def kpi(self, kpi_id: str) -> KpiDoc | None:
        return next((k for k in self.kpis if k.id == kpi_id), None)

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)


class KpiLeaf(Read):
    type: Literal["kpi"]
    id: str
    title: str
    unit: str | None = None
    owner: str | None = None
    perspective: str | None = None
    unit_of_measure: str | None = None
    weight: float = 1.0
    period: str | None = None
    status: str
    score: float | None = None
    actual: float | None = None
    target: float | None = None
    expected: float | None = None
    forecast: float | None = None


class ScoredNode(Read):
    type: Literal["goal", "objective", "success_factor"]
    id: str
    title: str
    score: float | None = None
    children: list[Annotated["KpiLeaf | ScoredNode", Field(discriminator="type")]]


class PerspectiveGroup(Read):
    perspective: str
    score: float | None = None
    kpis: int
    statuses: dict[str, int]


class UnitGroup(Read):
    unit: str
    score: float | None = None
    kpis: int
    statuses: dict[str, int]
    perspectives: list[PerspectiveGroup]


class Scorecard(Read):
    period: str | None = None
    unit: str | None = None
    score: float | None = None
    goals: list[ScoredNode]
    units: list[UnitGroup]
    perspectives: list[PerspectiveGroup]
    kpis: list[KpiLeaf]


class Revision(Read):
    old: float | None = None
    new: float | None = None
    at: str
    reason: str
    restatement_id: str | None = None


class Point(Read):
    period: str
    period_start: str
    period_end: str
    actual: float | None = None
    target: float | None = None
    expected: float | None = None
    forecast: float | None = None
    status: str
    score: float | None = None
    evaluated_at: str
    breach_id: str | None = None
    revisions: list[Revision] = Field(default_factory=list)


class Series(Read):
    kpi_id: str
    points: list[Point]


class FieldChange(Read):
    before: Any = None
    after: Any = None


class HistoryEntry(Read):
    revision: int
    action: str
    changed_at: str
    key_id: str | None = None
    reason: str | None = None
    target_changed: bool
    fields: dict[str, FieldChange] = Field(default_factory=dict)


class KpiHistory(Read):
    kpi_id: str
    history: list[HistoryEntry]


class ChainNode(Read):
    node_type: str
    id: str
    title: str | None = None


class KpiChains(Read):
    kpi_id: str
    chains: list[list[ChainNode]]


class ManyKpiChains(Read):
    kpis: list[KpiChains]


class ManyKpiHistories(Read):
    kpis: list[KpiHistory]


class ManySeries(Read):
    kpis: list[Series]


class Breach(Read):
    """A breach as the notifier knows it (the evaluator's facts and its acknowledgement)."""

    breach_id: str
    period: str
    status: str
    severity: str
    actual: float | None = None
    target: float | None = None
    opened_at: str
    acked_at: str | None = None
    resolved_at: str | None = None
    restatement_id: str | None = None


class Review(Read):
    """A review cycle as the notifier knows it (`GET /v1/reviews`)."""

    review_id: str
    title: str | None = None
    unit: str | None = None
    cadence: str
    next_due: str
    last_held: str | None = None
    overdue: bool = False
    since: str


class Finding(Read):
    """An alignment finding of goals or a data-health finding of the evaluator."""

    rule: str
    severity: str
    node_type: str
    node_id: str
    explanation: str
    suggested_fix: str
    kpis: list[str] = Field(default_factory=list)  # data health: the KPIs concerned


class Findings(Read):
    findings: list[Finding]
