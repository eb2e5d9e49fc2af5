"""Where `kpi simulate`, the demo and the bench get a KPI's target for a period: goals'
`GET /v1/kpis/{id}/targets?at=<time>` (docs/goals.md), which resolves relative and
per-period targets on the tenant's fiscal calendar. The CLI keeps no copy of those rules."""

from datetime import datetime
from urllib.parse import quote

import httpx

from kpi_cli.client import CliError, CliSettings, check
from kpi_cli.simulation import PeriodTarget

NO_KEY = (
    "kpi simulate takes each KPI's targets and periods from goals "
    "(GET /v1/kpis/{id}/targets): set KPI_API_KEY to a key of the tenant whose strategy "
    "you simulate, and KPI_GOALS_URL if goals is not at {url}; apply the strategy first "
    "with `kpi apply -f FILE`"
)
NOT_APPLIED = (
    "goals does not know KPI {kpi!r} in this tenant: apply the strategy first "
    "(`kpi apply -f FILE`); the simulation takes each KPI's targets from goals"
)


def require_key(settings: CliSettings) -> str:
    """The API key to ask goals with, or a CliError saying why there is nobody to ask."""
    if not settings.api_key:
        raise CliError(NO_KEY.replace("{url}", settings.goals_url))
    return settings.api_key


class GoalsTargets:
    """A `simulation.Targets` that asks goals, with `http` (base URL and key set)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __call__(self, kpi_id: str, at: datetime) -> PeriodTarget:
        path = f"/v1/kpis/{quote(kpi_id, safe='')}/targets"
        try:
            resp = self.http.get(path, params={"at": at.isoformat()})
        except httpx.HTTPError as exc:
            raise CliError(
                f"cannot ask goals at {self.http.base_url} for the targets of KPI {kpi_id}: {exc}"
            ) from exc
        if resp.status_code == 404:
            raise CliError(NOT_APPLIED.format(kpi=kpi_id))
        body = check(resp)
        try:
            return PeriodTarget.parse(body["at"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CliError(
                f"goals answered the targets of KPI {kpi_id} without a period `at`: {exc!r}"
            ) from exc
