"""`kpi` commands for the notifier service: the delivery log, acknowledgements, silences,
test notifications and held reviews."""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from kpi_cli.app import app
from kpi_cli.client import CliError, check, connect
from kpi_cli.console import out

silence_app = typer.Typer(no_args_is_help=True, help="Silences: matching breaches stay quiet.")
app.add_typer(silence_app, name="silence")
notifications_app = typer.Typer(
    invoke_without_command=True, help="The delivery log; `resend ID` sends a dead one again."
)
app.add_typer(notifications_app, name="notifications")
_DURATION = re.compile(r"^([1-9][0-9]*)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _notifier() -> httpx.Client:
    return connect("notifier")


@notifications_app.callback()
def notifications(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, dead, suppressed")
    ] = None,
    breach: Annotated[str | None, typer.Option(help="only this breach's notifications")] = None,
    limit: Annotated[int, typer.Option(help="at most this many, newest first")] = 50,
) -> None:
    """The delivery log: every notification with its status and attempts."""
    if ctx.invoked_subcommand is not None:
        return
    params: dict[str, Any] = {"limit": limit}
    params |= {k: v for k, v in (("status", status), ("breach_id", breach)) if v}
    with _notifier() as http:
        rows = check(http.get("/v1/notifications", params=params))
    table = Table("id", "kind", "channel", "recipient", "status", "attempts", "breach", "error")
    for r in rows:
        error = (r["last_error"] or "")[:80]
        if r.get("resent_by"):
            error = f"resent by {r['resent_by']} at {r['resent_at']}; {error}"
        cells = (r["kind"], r["channel"], r["recipient"], r["status"], str(r["attempts"]))
        table.add_row(str(r["id"]), *cells, r["breach_id"] or "", error)
    out.print(table)


@notifications_app.command("resend")
def resend(notification_id: Annotated[int, typer.Argument(help="the id in the log")]) -> None:
    """Send a dead notification again (recorded; asking twice sends it once)."""
    with _notifier() as http:
        body = check(http.post(f"/v1/notifications/{notification_id}/resend"))
    out.print(
        f"notification {body['id']} is {body['status']} (resent by {body['resent_by']} "
        f"at {body['resent_at']}): see `kpi notifications` for the outcome"
    )


@app.command("ack")
def ack(breach_id: Annotated[str, typer.Argument(help="the breach to acknowledge")]) -> None:
    """Acknowledge a breach: its reminders and escalation stop."""
    with _notifier() as http:
        body = check(http.post(f"/v1/breaches/{breach_id}/ack"))
    out.print(f"acknowledged {body['breach_id']} at {body['acked_at']}")


def _ends_at(duration: str | None, until: str | None) -> str:
    if until:
        return until
    found = _DURATION.match(duration or "")
    if found is None:
        raise CliError("give --for like 30m, 2h, 1d, 1w, or --until an ISO time with offset")
    delta = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    return (datetime.now(UTC) + delta).isoformat()


@silence_app.command("add")
def silence_add(
    unit: Annotated[str | None, typer.Option(help="a unit and everything below it")] = None,
    kpi: Annotated[str | None, typer.Option(help="one KPI")] = None,
    perspective: Annotated[str | None, typer.Option(help="a scorecard perspective")] = None,
    severity: Annotated[str | None, typer.Option(help="warning or critical")] = None,
    breach: Annotated[str | None, typer.Option(help="one breach id")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="how long: 30m, 2h, 1d, 1w")] = None,
    until: Annotated[str | None, typer.Option(help="end time, ISO 8601 with offset")] = None,
    comment: Annotated[str | None, typer.Option(help="why")] = None,
) -> None:
    """Silence matching breaches until an end time."""
    pairs = (("unit", unit), ("kpi", kpi), ("perspective", perspective),
             ("severity", severity), ("breach_id", breach))  # fmt: skip
    matchers = {k: v for k, v in pairs if v}
    if not matchers:
        raise CliError("name at least one of --unit, --kpi, --perspective, --severity, --breach")
    body = {"matchers": matchers, "ends_at": _ends_at(for_, until), "comment": comment}
    with _notifier() as http:
        created = check(http.post("/v1/silences", json=body))
    out.print(f"silence {created['id']} until {created['ends_at']}")


@silence_app.command("list")
def silence_list() -> None:
    """The tenant's silences."""
    with _notifier() as http:
        rows = check(http.get("/v1/silences"))
    table = Table("id", "matchers", "ends at", "comment")
    for s in rows:
        matchers = ", ".join(f"{k}={v}" for k, v in s["matchers"].items())
        table.add_row(s["id"], matchers, str(s["ends_at"]), s["comment"] or "")
    out.print(table)


@silence_app.command("rm")
def silence_rm(silence_id: Annotated[str, typer.Argument(help="the silence to end")]) -> None:
    """End a silence now."""
    with _notifier() as http:
        check(http.delete(f"/v1/silences/{silence_id}"))
    out.print(f"silence {silence_id} removed")


@app.command("test-notification")
def send_test_notification(
    to: Annotated[str, typer.Argument(help="a person id or a named alert channel")],
    note: Annotated[str | None, typer.Option(help="a line to include")] = None,
) -> None:
    """Send a test message, to check a person's email or a channel's configuration."""
    with _notifier() as http:
        body = check(http.post("/v1/test-notification", json={"to": to, "note": note}))
    out.print(f"queued {body['dedup_key']}: see `kpi notifications` for the outcome")


@app.command("review-held")
def review_held(
    review_id: Annotated[str, typer.Argument(help="the review cycle")],
    date: Annotated[str | None, typer.Option(help="which date (default: the one due)")] = None,
) -> None:
    """Record a review as held: no overdue notice, reminders move to the next date."""
    with _notifier() as http:
        body = check(http.post(f"/v1/reviews/{review_id}/held", json={"date": date}))
    out.print(f"{review_id} held on {body['held']}; next due {body['next_due']}")
