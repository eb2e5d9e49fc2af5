"""What goals answers to `GET /v1/kpis/{id}/targets?at=` for a strategy document, computed
by goals' own code (`kpi_goals.contract.normalise` and the route's `period_at`) without a
database: the targets of the simulation in unit tests. Tests against a running goals ask it
with `kpi_cli.targets.GoalsTargets`."""

from datetime import datetime
from typing import Any

from kpi_cli.simulation import PeriodTarget, Targets
from kpi_common.definitions import KpiDef
from kpi_goals.contract import normalise
from kpi_goals.reads import period_at


def contract_targets(doc: dict[str, Any]) -> Targets:
    org = doc.get("organization", {})
    kpis = {k["id"]: normalise("kpi", k["id"], k) for k in doc.get("kpis", [])}

    def answer(kpi_id: str, at: datetime) -> PeriodTarget:
        kpi = kpis[kpi_id]
        assert isinstance(kpi, KpiDef)
        return PeriodTarget.parse(period_at(kpi, org, at))

    return answer
