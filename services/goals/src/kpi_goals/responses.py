"""What the goals routes answer (their 2xx bodies), for the OpenAPI document."""

from typing import Any, Literal

from kpi_common import definitions
from kpi_common.responses import Answer, Json
from pydantic import ConfigDict, Field

from kpi_goals.access import Role


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
    channels: dict[str, Json]
    routes: list[Json]
    inhibit: list[Json] | None = None  # absent: the document declared none (the default)


class StrategyAnswer(Answer):
    """The tenant's strategy document (see GET /v1/strategy/schema); each entry as written."""

    version: int
    organization: Json | None = Field(default=None, description="absent until one is applied")
    units: list[Json]
    people: list[Json]
    goals: list[Json]
    objectives: list[Json]
    success_factors: list[Json]
    kpis: list[Json]
    reviews: list[Json]
    alerts: Alerts


class HistoryEntry(Answer):
    revision: int
    action: Literal["create", "update", "delete"]
    changed_at: str
    key_id: str | None
    reason: str | None
    target_changed: bool
    fields: dict[str, FieldChange]
    definition: Json | None


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
    baseline: Any
    target: Any
    targets: Any
    period: Any
    direction: Any
    at_risk_below: Any
    resolved: definitions.KpiTargets
    period_kind: definitions.PeriodKind
    at: PeriodTarget | None


class NodeSummary(Answer):
    node_type: str
    id: str
    title: str | None
    unit: Any
    owner: Any


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


class NodeAnswer(Answer):
    id: str
    revision: int
    definition: Json


class NodePage(Answer):
    items: list[NodeAnswer]
    next_after: str | None
