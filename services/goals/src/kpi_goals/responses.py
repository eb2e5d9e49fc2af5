"""What the goals routes answer (their 2xx bodies), for the OpenAPI document."""

from typing import Annotated, Any, Literal

from kpi_common import definitions
from kpi_common.responses import Answer, Described, Json, Number
from pydantic import ConfigDict, Field, create_model

from kpi_goals import document as doc
from kpi_goals.access import Role

# Document entries as written (stored as applied), each described by its document model.
OrganizationEntry = Annotated[Json, Described(doc.Organization)]
UnitEntry = Annotated[Json, Described(doc.Unit)]
PersonEntry = Annotated[Json, Described(doc.Person)]
GoalEntry = Annotated[Json, Described(doc.Goal)]
ObjectiveEntry = Annotated[Json, Described(doc.Objective)]
SuccessFactorEntry = Annotated[Json, Described(doc.SuccessFactor)]
KpiEntry = Annotated[Json, Described(doc.Kpi)]
ReviewEntry = Annotated[Json, Described(doc.Review)]
ChannelEntry = Annotated[Json, Described(doc.Channel)]
RouteEntry = Annotated[Json, Described(doc.Route)]
InhibitEntry = Annotated[Json, Described(doc.InhibitRule)]
ENTRIES: dict[str, Any] = {
    "unit": UnitEntry,
    "person": PersonEntry,
    "goal": GoalEntry,
    "objective": ObjectiveEntry,
    "success_factor": SuccessFactorEntry,
    "kpi": KpiEntry,
    "review": ReviewEntry,
}


class TenantCreatedAnswer(Answer):
    tenant_id: str
    slug: str
    admin_api_key: str = Field(description="shown only this once")
    key_id: str


class KeyCreated(Answer):
    key_id: str
    api_key: str = Field(description="shown only this once")
    role: Role
    unit_scope: str | None
    name: str | None


class KeyListed(Answer):
    key_id: str
    role: Role
    unit_scope: str | None
    name: str | None
    revoked: bool
    created_at: str
    created_by: str | None
    revoked_at: str | None
    revoked_by: str | None


class KeyList(Answer):
    items: list[KeyListed]


class AdminKeyIssued(Answer):
    tenant_id: str
    key_id: str
    admin_api_key: str = Field(description="shown only this once")
    created_by: str
    created_at: str


class KeyRevoked(Answer):
    key_id: str
    revoked: Literal[True]


class JsonSchema(Answer):
    """The JSON Schema (draft 2020-12) of the strategy document."""

    model_config = ConfigDict(extra="allow")
    title: str
    type: Literal["object"]
    properties: Json
    defs: Json = Field(alias="$defs")


class FieldChange(Answer):
    before: Any
    after: Any


class NodeChange(Answer):
    action: Literal["create", "update", "delete"]
    node_type: str
    node_id: str
    revision: int
    fields: dict[str, FieldChange] | None = Field(default=None, description="updates only")


class StrategyApplied(Answer):
    dry_run: bool
    created: int
    updated: int
    deleted: int
    changes: list[NodeChange]


class Alerts(Answer):
    channels: dict[str, ChannelEntry]
    routes: list[RouteEntry]
    inhibit: list[InhibitEntry] | None = None  # absent: the document declared none (the default)


class StrategyAnswer(Answer):
    """The tenant's strategy document (see GET /v1/strategy/schema); each entry as written."""

    version: int
    organization: OrganizationEntry | None = Field(
        default=None, description="absent until one is applied"
    )
    units: list[UnitEntry]
    people: list[PersonEntry]
    goals: list[GoalEntry]
    objectives: list[ObjectiveEntry]
    success_factors: list[SuccessFactorEntry]
    kpis: list[KpiEntry]
    reviews: list[ReviewEntry]
    alerts: Alerts


class HistoryEntry(Answer):
    revision: int
    action: Literal["create", "update", "delete"]
    changed_at: str
    key_id: str | None
    reason: str | None
    target_changed: bool
    fields: dict[str, FieldChange]
    definition: KpiEntry | None


class KpiHistory(Answer):
    kpi_id: str
    history: list[HistoryEntry]


class ManyKpiHistories(Answer):
    kpis: list[KpiHistory] = Field(description="each KPI asked, in the order asked")


class PeriodTarget(Answer):
    """The period that contains the asked instant, on the tenant's fiscal calendar."""

    period: str
    start: str
    end: str
    target: float | None
    band: definitions.TargetBand | None


class KpiTargets(Answer):
    """The KPI's target fields as they stood at the end of `as_of` (null where unset)."""

    kpi_id: str
    as_of: str
    revision: int
    changed_at: str
    baseline: Number | None
    target: Annotated[Any, Described(doc.Target | None)]
    targets: Annotated[Any, Described(list[doc.PeriodTarget] | None)]
    period: Annotated[Any, Described(doc.Period | None)]
    direction: Annotated[Any, Described(Literal["increase", "decrease", "range"] | None)]
    at_risk_below: Number | None
    resolved: definitions.KpiTargets
    period_kind: definitions.PeriodKind
    at: PeriodTarget | None


class NodeSummary(Answer):
    node_type: str
    id: str
    title: str | None
    unit: str | None
    owner: str | None


class Branch(NodeSummary):
    children: list["Branch"]


class Organization(Answer):
    name: str | None
    vision: str | None
    mission: str | None


class CascadeTree(Answer):
    organization: Organization
    goals: list[Branch]
    unlinked: list[NodeSummary]


class KpiChains(Answer):
    kpi_id: str
    chains: list[list[NodeSummary]] = Field(description="each path from the KPI up to a goal")


class ManyKpiChains(Answer):
    kpis: list[KpiChains] = Field(description="each KPI asked, in the order asked")


class Finding(Answer):
    rule: str
    severity: Literal["error", "warning", "info"]
    node_type: str
    node_id: str
    explanation: str
    suggested_fix: str


class Counts(Answer):
    error: int
    warning: int
    info: int


class Rule(Answer):
    id: str
    severity: Literal["error", "warning", "info"]
    description: str


class AlignmentReport(Answer):
    findings: list[Finding]
    counts: Counts
    rules: list[Rule]


def node_answers(node_type: str) -> tuple[type[Answer], type[Answer]]:
    """The answers of `GET /v1/<nodes>/{id}` and `GET /v1/<nodes>` for one node type, the
    definition described by its document entry."""
    name = "".join(part.title() for part in node_type.split("_"))
    answer = create_model(
        f"{name}Node",
        __base__=Answer,
        id=(str, ...),
        revision=(int, ...),
        definition=(ENTRIES[node_type], ...),
    )
    page = create_model(
        f"{name}Page", __base__=Answer, items=(list[answer], ...), next_after=(str | None, ...)
    )
    return answer, page
