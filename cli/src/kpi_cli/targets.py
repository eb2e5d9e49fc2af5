"""Where `kpi simulate`, the demo and the bench get a KPI's target for a period: goals'
`GET /v1/kpis/{id}/targets?at=<time>` (docs/goals.md), which resolves relative and
per-period targets on the tenant's fiscal calendar. The CLI keeps no copy of those rules."""

from datetime import datetime
from urllib.parse import quote

import httpx

from kpi_cli.client import CliError, ExitCode, check
from kpi_cli.simulation import PeriodTarget

APPLY_FIRST = (
    "kpi simulate takes each KPI's targets from goals: apply the strategy first "
    "(`kpi apply -f FILE`) with a key of that tenant in KPI_API_KEY"
)


class GoalsTargets:
    """A `simulation.Targets` that asks goals, with `http` (base URL and key set)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __call__(self, kpi_id: str, at: datetime) -> PeriodTarget:
        path = f"/v1/kpis/{quote(kpi_id, safe='')}/targets"
        resp = self.http.get(path, params={"at": at.isoformat()})
        if resp.status_code == 404:
            raise CliError(f"goals does not know KPI {kpi_id!r} in this tenant\n  {APPLY_FIRST}")
        body = check(resp)
        try:
            return PeriodTarget.parse(body["at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CliError(
                f"goals answered the targets of KPI {kpi_id} without a period `at`: {exc!r}",
                ExitCode.SERVICE,
            ) from exc
