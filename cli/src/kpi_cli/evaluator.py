"""`kpi` commands for the evaluator service: the scorecard as a tree, one KPI's status, and
recompute jobs (`kpi recompute --kpi ID | --all`, `kpi recompute status`)."""

import json
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from kpi_cli.app import app
from kpi_cli.client import check, connect
from kpi_cli.console import out, styled

COLOURS = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "bold red",
    "no_data": "dim",
    "stale": "magenta",
}


def _evaluator() -> httpx.Client:
    return connect("evaluator")


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and abs(value) < 10 and value != int(value):
        return f"{value:.3g}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"


def _score(value: Any) -> str:
    return "  -" if value is None else f"{value:.0%}"


def _kpi_label(k: dict[str, Any]) -> Text:
    status = k.get("status") or "no_data"
    uom = f" {k['unit_of_measure']}" if k.get("unit_of_measure") else ""
    return styled(
        (f"{status:<9}", COLOURS.get(status, "white")),
        f" {_score(k.get('score'))}  {k['title']} ",
        (f"({k['id']}, {k.get('period') or '-'})", "dim"),
        f": {_num(k.get('actual'))} / {_num(k.get('target'))}{uom},"
        f" expected {_num(k.get('expected'))}, forecast {_num(k.get('forecast'))}",
    )


def _add(tree: Tree, node: dict[str, Any]) -> None:
    if node["type"] == "kpi":
        tree.add(_kpi_label(node))
        return
    label = styled(f"{_score(node.get('score'))}  ", (node["title"], "bold"), " ")
    branch = tree.add(label.append(node["type"], "dim"))
    for child in node.get("children", []):
        _add(branch, child)


def render(card: dict[str, Any]) -> Tree:
    """The cascade goal -> objective -> success factor -> KPI with scores and statuses."""
    title = f"Scorecard {card.get('unit') or 'all units'} {card.get('period') or ''}".strip()
    tree = Tree(styled((title, "bold"), f": score {_score(card.get('score'))}"))
    for goal in card.get("goals", []):
        _add(tree, goal)
    return tree


def summary(card: dict[str, Any], key: str) -> Table:
    table = Table(title=f"per {key}")
    for column in (key, "score", "KPIs", "statuses"):
        table.add_column(column)
    for row in card.get(f"{key}s", []):
        statuses = ", ".join(f"{s} {n}" for s, n in sorted(row["statuses"].items()))
        table.add_row(str(row[key]), _score(row["score"]), str(row["kpis"]), statuses)
    return table


@app.command("scorecard")
def scorecard(
    unit: Annotated[str | None, typer.Option(help="a unit and the units below it")] = None,
    period: Annotated[str | None, typer.Option(help="a period key: 2026, 2026-Q1, 2026-03")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the raw JSON")] = False,
) -> None:
    """The balanced scorecard: the cascade with actuals, targets, status and scores."""
    params = {k: v for k, v in (("unit", unit), ("period", period)) if v}
    with _evaluator() as http:
        card = check(http.get("/v1/scorecard", params=params))
    if as_json:
        out.print_json(json.dumps(card))
        return
    out.print(render(card))
    out.print(summary(card, "unit"))
    out.print(summary(card, "perspective"))


# every stored period: the series API takes a range, history asks for all of it
ALL_TIME = {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T00:00:00Z"}


def history(kpi: str, points: list[dict[str, Any]]) -> Table:
    """Each revision of each restated period, oldest period first."""
    table = Table(title=f"Revisions of {kpi}")
    for column in ("period", "when", "old", "new", "why"):
        table.add_column(column)
    for point in points:
        for r in point.get("revisions", []):
            reason = str(r["reason"]).replace("_", " ")
            table.add_row(point["period"], str(r["at"]), _num(r["old"]), _num(r["new"]), reason)
    return table


@app.command("kpi-status")
def status(
    kpi: Annotated[str, typer.Argument(help="KPI id")],
    period: Annotated[
        str | None, typer.Option(help="a period key of the KPI's kind: 2026, 2026-Q1, 2026-03")
    ] = None,
    show_history: Annotated[
        bool, typer.Option("--history", help="also the revisions of restated closed periods")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the raw JSON")] = False,
) -> None:
    """One KPI's actual, target, expected, forecast, status and score."""
    with _evaluator() as http:
        body = check(
            http.get(f"/v1/kpis/{kpi}/status", params={"period": period} if period else {})
        )
        series = check(http.get(f"/v1/kpis/{kpi}/series", params=ALL_TIME)) if show_history else {}
    if as_json:
        out.print_json(json.dumps(body))
        return
    out.print(status_table(body))
    if show_history:
        out.print(history(kpi, series["points"]))


STATUS_COLUMNS = ("period", "status", "score", "actual", "target", "expected", "forecast")


def status_table(body: dict[str, Any]) -> Table:
    """GET /v1/kpis/{id}/status as one row: the period, status, score and the numbers."""
    table = Table("KPI", *STATUS_COLUMNS, "evaluated", "breach")
    status = body.get("status") or "no_data"
    table.add_row(
        body["kpi_id"],
        body.get("period") or "-",
        styled((status, COLOURS.get(status, "white"))),
        _score(body.get("score")).strip(),
        *(_num(body.get(k)) for k in STATUS_COLUMNS[3:]),
        str(body.get("evaluated_at") or "-"),
        body.get("breach_id") or "",
    )
    return table


recompute_app = typer.Typer(
    invoke_without_command=True,
    help="Recompute KPI actuals from the evaluator's archive (needs an admin or editor key).",
)
app.add_typer(recompute_app, name="recompute")


def _progress(job: dict[str, Any]) -> str:
    total = job.get("events_total")
    return f"{job['events_done']:,}/{total:,}" if total is not None else "-"


def _outcome(job: dict[str, Any]) -> str:
    """How it finished: `merged into 12`, `recomputed (+ 13, 14)`, `no_events`, or `-`."""
    outcome = job.get("outcome")
    if outcome == "merged":
        return f"merged into {job.get('merged_into')}"
    absorbed = job.get("absorbed") or []
    also = f" (+ {', '.join(str(i) for i in absorbed)})" if absorbed else ""
    return f"{outcome or '-'}{also}"


def jobs_table(jobs: list[dict[str, Any]]) -> Table:
    table = Table(title="recompute jobs")
    columns = ("id", "state", "outcome", "events", "attempts", "reason", "KPIs", "created")
    for column in (*columns, "finished"):
        table.add_column(column)
    for job in jobs:
        table.add_row(
            str(job["id"]),
            job["state"],
            _outcome(job),
            _progress(job),
            str(job["attempts"]),
            job["reason"],
            ", ".join(job["kpis"]),
            str(job["created_at"])[:19],
            str(job.get("finished_at") or "-")[:19],
        )
    return table


@recompute_app.callback()
def recompute(
    ctx: typer.Context,
    kpi: Annotated[str | None, typer.Option("--kpi", help="one KPI id")] = None,
    every: Annotated[bool, typer.Option("--all", help="every KPI of the tenant")] = False,
) -> None:
    """Ask for a recompute of one KPI (--kpi ID) or all (--all); `status` shows the jobs."""
    if ctx.invoked_subcommand is not None:
        return
    if (kpi is None) == (not every):
        raise typer.BadParameter("give exactly one of --kpi ID or --all")
    body: dict[str, Any] = {"kpi": kpi} if kpi else {"all": True}
    with _evaluator() as http:
        job = check(http.post("/v1/recomputes", json=body))
    out.print(f"recompute {job['id']} queued: {', '.join(job['kpis'])}")


@recompute_app.command("status")
def recompute_status(
    job_id: Annotated[int | None, typer.Argument(help="one job (default: the latest 50)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the raw JSON")] = False,
) -> None:
    """Recompute jobs with their progress (events folded of those archived)."""
    with _evaluator() as http:
        path = "/v1/recomputes" if job_id is None else f"/v1/recomputes/{job_id}"
        body = check(http.get(path))
    jobs = body["jobs"] if job_id is None else [body]
    if as_json:
        out.print_json(json.dumps(body))
        return
    out.print(jobs_table(jobs))
