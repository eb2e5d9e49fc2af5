"""`kpi` commands over the notifier's read views: a person's inbox and the shadow log."""

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import check, connect
from kpi_cli.console import out

JsonFlag = Annotated[bool, typer.Option("--json", help="print the raw JSON")]


@app.command("inbox")
def inbox(
    person: Annotated[str, typer.Option("--person", help="the person's id in the strategy")],
    as_json: JsonFlag = False,
) -> None:
    """What a person owes now: open breaches, reviews due, KPIs without current data."""
    with connect("notifier") as http:
        box = check(http.get("/v1/inbox", params={"person": person}))
    if as_json:
        out.print_json(json.dumps(box))
        return
    out.print(f"{box['name']} ({box['person']}): {box['count']} item(s) as of {box['as_of']}")
    _section("breaches", box["breaches"], ("breach_id", "kpi_id", "severity", "period"))
    _section("reviews", box["reviews"], ("review_id", "due", "notice", "days_overdue"))
    _section("kpis", box["kpis"], ("kpi_id", "unit", "status", "period"))


def _section(name: str, items: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if not items:
        out.print(f"{name}: none")
        return
    table = Table(*columns, title=name)
    for item in items:
        table.add_row(*(str(item.get(c) if item.get(c) is not None else "") for c in columns))
    out.print(table)


@app.command("shadow")
def shadow(
    route: Annotated[int | None, typer.Option(help="one shadow route, by position")] = None,
    since: Annotated[str | None, typer.Option(help="recorded at or after (ISO 8601)")] = None,
    breach: Annotated[str | None, typer.Option(help="one breach's entries")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """What shadow routes and rules would have sent (nothing of it was sent)."""
    pairs = (("route", route), ("since", since), ("breach_id", breach))
    params: dict[str, Any] = {"limit": limit} | {k: v for k, v in pairs if v is not None}
    with connect("notifier") as http:
        rows = check(http.get("/v1/shadow", params=params))
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("recorded", "reason", "route", "kind", "channel", "recipient", "subject")
    for r in rows:
        where = "" if r["route"] is None else str(r["route"])
        cells = (r["reason"], where, r["kind"], r["channel"], r["recipient"], r["subject"])
        table.add_row(str(r["recorded_at"]), *cells)
    out.print(table)
