"""`kpi incidents`: the notifier's incidents (breaches linked by the cascade), one, and
acknowledging one with its breaches."""

from typing import Annotated, Any

import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import check, connect
from kpi_cli.console import out

incidents_app = typer.Typer(
    invoke_without_command=True,
    help="Incidents: breaches linked by the cascade; `show ID`, `ack ID`.",
)
app.add_typer(incidents_app, name="incidents")


def _share(item: dict[str, Any]) -> str:
    share = item.get("share")
    return "" if share is None else f" {round(share * 100)}%"


def _names(items: list[dict[str, Any]], shares: bool = False) -> str:
    return ", ".join(f"{i['kpi_id']}{_share(i) if shares else ''}" for i in items)


@incidents_app.callback()
def incidents(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, acked or resolved")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """Incidents, newest first: their root causes (with their share of the gap) and the
    parents affected."""
    if ctx.invoked_subcommand is not None:
        return
    params: dict[str, Any] = {"limit": limit} | ({"state": state} if state else {})
    with connect("notifier") as http:
        rows = check(http.get("/v1/incidents", params=params))
    table = Table("incident", "state", "title", "root causes", "parents", "opened")
    for r in rows:
        causes, parents = _names(r["causes"], shares=True), _names(r["parents"])
        table.add_row(r["incident_id"], r["state"], r["title"], causes, parents, r["opened_at"])
    out.print(table)


@incidents_app.command("show")
def show(incident_id: Annotated[str, typer.Argument(help="the incident id (inc-...)")]) -> None:
    """One incident with each of its breaches."""
    with connect("notifier") as http:
        body = check(http.get(f"/v1/incidents/{incident_id}"))
    out.print(f"{body['incident_id']} ({body['state']}): {body['title']}")
    table = Table("role", "kpi", "unit", "period", "actual", "expected", "target", "share")
    for role in ("causes", "parents"):
        for i in body[role]:
            cells = (str(i[k]) for k in ("actual", "expected", "target"))
            table.add_row(role[:-1], i["kpi_id"], i["unit_id"] or "", i["period"] or "",
                          *cells, _share(i).strip())  # fmt: skip
    out.print(table)


@incidents_app.command("ack")
def ack(incident_id: Annotated[str, typer.Argument(help="the incident id (inc-...)")]) -> None:
    """Acknowledge an incident and its breaches: their reminders and escalation stop."""
    with connect("notifier") as http:
        body = check(http.post(f"/v1/incidents/{incident_id}/ack"))
    breaches = ", ".join(body["breach_ids"])
    out.print(f"acknowledged {body['incident_id']} at {body['acked_at']} ({breaches})")
