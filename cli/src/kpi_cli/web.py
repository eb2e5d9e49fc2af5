"""`kpi` commands for reviews and their packs: list the review cycles (the notifier's), and
download a review's pack (the web service's)."""

import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import CliError, ExitCode, check, connect
from kpi_cli.console import out

_FILENAME = re.compile(r'filename="([^"/\\]+)"')


@app.command("reviews")
def reviews() -> None:
    """Each review cycle: the date due now, what it looks back to, and whether it is
    overdue; `kpi review-pack REVIEW` downloads its pack."""
    with connect("notifier") as http:
        listed = check(http.get("/v1/reviews"))
    table = Table("review", "unit", "cadence", "due", "looks back to", "overdue")
    for r in listed:
        late = f"{r['days_overdue']} day(s)" if r["overdue"] else "no"
        table.add_row(
            r["review_id"], r["unit"] or "-", r["cadence"], r["next_due"], r["since"], late
        )
    out.print(table)


@app.command("review-pack")
def review_pack(
    review_id: Annotated[str, typer.Argument(help="the review cycle (see `kpi reviews`)")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="where to write it: .html for HTML, else PDF"),
    ] = None,
) -> None:
    """Download a review's pack (scorecard, KPIs off track, breaches, target changes and
    findings since the review before) as PDF, or as one self-contained HTML file."""
    as_html = output is not None and output.suffix.lower() in (".html", ".htm")
    path = f"/reviews/{review_id}/pack" + ("" if as_html else ".pdf")
    with connect("web") as http:
        answer = http.get(path, params={"download": "1"} if as_html else None)
    if not answer.is_success:
        raise CliError(_refusal(answer.status_code, review_id), _exit_code(answer.status_code))
    body = answer.content
    found = _FILENAME.search(answer.headers.get("content-disposition", ""))
    target = output or Path(found.group(1) if found else f"{review_id}.pdf")
    target.write_bytes(body)
    out.print(f"{target}: {review_id}'s review pack, {len(body):,} bytes")


def _refusal(status: int, review_id: str) -> str:
    """The web service answers pages, not JSON: say what its status means here."""
    if status in (303, 401):  # a refused key is sent to the login page
        return "the web service refused KPI_API_KEY (unknown or revoked)"
    if status == 403:
        return "KPI_API_KEY's role cannot read the strategy (use a viewer, editor or admin key)"
    if status == 404:
        return f"no review {review_id!r}: `kpi reviews` lists the review cycles"
    return f"the web service could not build the pack (HTTP {status}); see its log, retry later"


def _exit_code(status: int) -> ExitCode:
    return ExitCode.SERVICE if status >= 500 else ExitCode.REFUSED
