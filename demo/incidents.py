"""What the demo prints about incidents and burn-rate alerts, all from the product's answers:
the notifier's `GET /v1/incidents` (causes with their share of the gap, parents), its
delivery log `GET /v1/notifications` (which recipient got what kind), and the messages the
SMTP sink and Slack stand-in received that name the incident or the alert."""

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from demo.report import number as _num

Message = dict[str, Any]


def show(
    console: Console, incidents: list[dict[str, Any]], log: list[dict[str, Any]],
    mail: list[Message], slack: list[Message],
) -> None:  # fmt: skip
    """Each incident, then the burn-rate alerts that fired (deliveries of kind `burn`)."""
    console.rule("incidents (notifier GET /v1/incidents): one per cause")
    if not incidents:
        console.print("no incident")
    for incident in incidents:
        _incident(console, incident)
        rows = [r for r in log if r["dedup_key"].startswith(f"incident:{incident['incident_id']}:")]
        _deliveries(console, "its notifications", rows, mail, slack, incident["incident_id"])
    burns = [r for r in log if r["kind"] == "burn"]
    console.rule("burn-rate alerts (notifier GET /v1/notifications?kind=burn)")
    if not burns:
        console.print("no burn-rate alert fired")
    for alert_id in sorted({_alert_id(r) for r in burns}):
        rows = [r for r in burns if _alert_id(r) == alert_id]
        _deliveries(console, f"alert {alert_id}", rows, mail, slack, alert_id)


def _incident(console: Console, incident: dict[str, Any]) -> None:
    console.print(
        f"[bold]{incident['incident_id']}[/bold] {incident['title']}  state {incident['state']}"
    )
    table = Table("role", "KPI", "unit", "status", "actual / expected", "gap", "share of gap")
    for role, items in (("root cause", incident["causes"]), ("parent", incident["parents"])):
        for b in items:
            share = "" if b.get("share") is None else f"{b['share']:.0%}"
            table.add_row(
                role, f"{b['kpi_title']} ({b['kpi_id']})", b.get("unit_id") or "",
                b.get("status") or "", f"{_num(b['actual'])} / {_num(b['expected'])}",
                _num(b.get("gap")), share,
            )  # fmt: skip
    console.print(table)


def _deliveries(
    console: Console, title: str, rows: list[dict[str, Any]],
    mail: list[Message], slack: list[Message], needle: str,
) -> None:  # fmt: skip
    """One line per delivery (the log) with the message the sink received for it."""
    table = Table("kind", "to", "status", "received", title=f"{title}: {len(rows)} delivery(ies)")
    for r in sorted(rows, key=lambda r: (r["channel_kind"], r["recipient"])):
        table.add_row(r["kind"], _to(r), r["status"], _received(r, mail, slack, needle))
    console.print(table)


def _to(row: dict[str, Any]) -> str:
    return row["recipient"] if row["channel_kind"] == "email" else f"#{row['channel']}"


def _received(row: dict[str, Any], mail: list[Message], slack: list[Message], needle: str) -> str:
    """The sink's message naming `needle` (incident or alert id) sent to that recipient."""
    if row["channel_kind"] == "email":
        got = [m for m in mail if needle in str(m["text"]) and _mailed(m, row["recipient"])]
        return f"email: {got[0]['subject']}" if got else "-"
    got = [s for s in slack if s["channel"] == row["channel"] and needle in json.dumps(s)]
    return f"Slack: {_text(got[0]).splitlines()[0][:100]}" if got else "-"


def _mailed(mail: Message, recipient: str) -> bool:
    return any(str(to).startswith(f"{recipient}@") for to in mail["to"])


def _text(post: Message) -> str:
    """The post's `text` (the subject; the body is in its `blocks`)."""
    payload = post["payload"]
    return str(payload.get("text") if isinstance(payload, dict) else payload)


def _alert_id(row: dict[str, Any]) -> str:
    return str(row["dedup_key"]).split(":")[1]  # burn:<alert_id>:fired:<channel kind>:<to>
