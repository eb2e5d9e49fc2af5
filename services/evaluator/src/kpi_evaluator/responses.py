"""What the evaluator's read routes answer (their 2xx bodies), for the OpenAPI document."""

from typing import Annotated, Literal

from kpi_common.events import KpiStatusChanged
from kpi_common.responses import Answer, Number
from pydantic import AwareDatetime, Field

Status = Annotated[str, Field(description="on_track, at_risk, off_track, achieved, ...")]


class KpiLeaf(Answer):
    type: Literal["kpi"]
    id: str
    title: str
    unit: str | None
    owner: str | None
    perspective: str | None
    unit_of_measure: str | None
    weight: Number
    period: str | None
    status: Status
    score: float | None
    actual: float | None
    target: float | None
    expected: float | None
    forecast: float | None


class ScoredNode(Answer):
    """A goal, objective or success factor: the weighted mean score of its children."""

    type: Literal["goal", "objective", "success_factor"]
    id: str
    title: str
    score: float | None
    children: list[Annotated["KpiLeaf | ScoredNode", Field(discriminator="type")]]


class PerspectiveGroup(Answer):
    perspective: str
    score: float | None
    kpis: int
    statuses: dict[str, int]


class UnitGroup(Answer):
    unit: str
    score: float | None
    kpis: int
    statuses: dict[str, int]
    perspectives: list[PerspectiveGroup]


class ScorecardAnswer(Answer):
    period: str | None
    unit: str | None
    score: float | None
    goals: list[ScoredNode]
    units: list[UnitGroup]
    perspectives: list[PerspectiveGroup]
    kpis: list[KpiLeaf]


class StatusPoint(KpiStatusChanged):
    """A KPI's status in one period: the facts of its last `kpi.status` event."""

    breach_id: str | None


class NoStatus(Answer):
    """The KPI has no row for the period yet."""

    kpi_id: str
    status: Literal["no_data"]
    actual: None
    score: None


class RevisionAnswer(Answer):
    """One restatement of a closed period's actual (docs/evaluator.md, "Restatements")."""

    old: float | None
    new: float | None
    at: AwareDatetime
    reason: Literal["late_events", "definition_change", "recompute"]
    restatement_id: str | None


class SeriesPoint(StatusPoint):
    revisions: list[RevisionAnswer]


class Series(Answer):
    kpi_id: str
    points: list[SeriesPoint]


class ManySeries(Answer):
    kpis: list[Series] = Field(description="each KPI asked, in the order asked")


class RecomputeJob(Answer):
    """A recompute of some KPIs from the archive (docs/evaluator.md, "Recomputation")."""

    id: int
    kpis: list[str]
    reason: str
    state: Literal["pending", "running", "done", "failed"]
    attempts: int
    events_done: int
    events_total: int | None
    error: str | None
    created_at: AwareDatetime
    started_at: AwareDatetime | None
    finished_at: AwareDatetime | None
    outcome: Literal["recomputed", "no_events", "merged"] | None = Field(
        description="how it finished (null until done): its KPIs rebuilt from the archive; "
        "nothing to rebuild (no archived event of their metrics, nothing folded before); or "
        "done by the job `merged_into`"
    )
    merged_into: int | None = Field(description="the job that did this one (outcome merged)")
    absorbed: list[int] = Field(
        description="the tenant's pending jobs this one did too (their KPIs rebuilt with its "
        "own; `events_done`/`events_total` count the events of all of them)"
    )


class ArchiveFillProgress(Answer):
    """The archive fill after an upgrade (docs/evaluator.md, "Upgrading"): recompute jobs
    stay pending until it is done."""

    state: Literal["filling", "done"]
    offsets_done: int = Field(description="offsets of metrics.events passed (read or skipped)")
    offsets_total: int = Field(description="the offsets consumed before the upgrade")
    not_retained: int = Field(description="offsets Kafka no longer held: events not archived")
    finished_at: AwareDatetime | None


class RecomputeJobs(Answer):
    jobs: list[RecomputeJob]
    archive_fill: ArchiveFillProgress | None = Field(
        description="null when the installation needs no archive fill"
    )


class DataHealthFinding(Answer):
    """A finding of the data (docs/evaluator.md, "Data health"), in the shape of goals'
    alignment findings, with the figures behind it (null or empty where a rule has none)."""

    rule: Literal["unmatched_metric", "kpi_without_data", "stale_metric"]
    severity: Literal["error", "warning", "info"]
    node_type: Literal["kpi", "metric"]
    node_id: str
    explanation: str
    suggested_fix: str
    metric: str | None = Field(description="the metric name (metric findings)")
    events: int | None = Field(description="events of the metric received so far")
    first_received_at: AwareDatetime | None
    last_received_at: AwareDatetime | None
    last_source_id: str | None = Field(description="the source of the last event, if known")
    nearest: list[str] = Field(description="unmatched_metric: KPI metric names most alike")
    kpis: list[str] = Field(description="the KPIs concerned")


class DataHealthCounts(Answer):
    error: int
    warning: int
    info: int


class DataHealthRule(Answer):
    id: str
    severity: Literal["error", "warning", "info"]
    description: str


class DataHealthReport(Answer):
    checked_at: AwareDatetime
    stale_after_s: float
    findings: list[DataHealthFinding]
    counts: DataHealthCounts
    rules: list[DataHealthRule]
