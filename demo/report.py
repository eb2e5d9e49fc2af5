"""What the demo prints: the applied changes, the replay's counts, the scorecard tree, the
alignment findings (goals' of the strategy, the evaluator's of the data), the notifications
that reached the sinks, and where to look next."""

import os
from pathlib import Path
from typing import Any

import httpx
from kpi_cli.feed_delivery import Tally
from kpi_localinfra import processes
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from demo import stack
from demo.clock import DEMO_NOW, QUARTER_START

GRAFANA_URL = os.environ.get("KPI_DEMO_GRAFANA_URL", "http://127.0.0.1:3000")

COLOURS = {
    "achieved": "bold green",
    "on_track": "green",
    "at_risk": "yellow",
    "off_track": "bold red",
    "no_data": "dim",
    "stale": "magenta",
}


def applied(console: Console, body: dict[str, Any]) -> None:
    summary = body.get("summary") or {k: v for k, v in body.items() if isinstance(v, int)}
    console.print(f"applied examples/acme/strategy.yaml: {summary}")


def sent(console: Console, events: int, tally: Tally) -> None:
    console.print(
        f"replayed {events} business events: {tally.accepted} accepted over HTTP, "
        f"{tally.duplicates} duplicates, {tally.replayed} webhook deliveries refused as "
        f"replays of an earlier run, {tally.produced} Debezium rows written"
    )
    for reason in tally.rejected[:5]:
        console.print(f"[yellow]rejected:[/yellow] {reason}")


# a script's typo (`crm.dela.won` for `crm.deal.won`): accepted by ingest, counted by no KPI;
# the evaluator's data health names it with the nearest KPI metric. Stable ids: a rerun
# sends duplicates.
MISTYPED: list[dict[str, Any]] = [
    {"id": f"demo-typo-{n}", "metric": "crm.dela.won", "value": 1,
     "time": f"2026-03-2{n}T10:00:00Z", "dimensions": {"new_customer": True}}
    for n in range(3)
]  # fmt: skip


def mistyped(console: Console, answer: dict[str, Any]) -> None:
    console.print(
        f"sent {len(MISTYPED)} events of the mistyped metric crm.dela.won to POST /v1/events:"
        f" accepted {answer['accepted']}, duplicates {answer['duplicates']}"
    )


def number(value: Any) -> str:
    """Three significant digits (3.01M, 121k, 31.6, 0.0425): stable while the clock moves."""
    if value is None:
        return "-"
    v = float(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:.3g}{suffix}"
    return f"{v:.3g}"


def _kpi_label(k: dict[str, Any]) -> str:
    style = COLOURS.get(k["status"], "")
    return (
        f"[{style}]{k['status']:>9}[/{style}]  {k['title']}  "
        f"actual {number(k['actual'])} / target {number(k['target'])}"
        f" (expected {number(k['expected'])}, forecast {number(k['forecast'])})"
    )


def _branch(parent: Tree, node: dict[str, Any]) -> None:
    if node["type"] == "kpi":
        parent.add(_kpi_label(node))
        return
    score = "-" if node.get("score") is None else f"{node['score']:.2f}"
    sub = parent.add(f"[bold]{node['type']}[/bold] {node['title']}  score {score}")
    for child in node.get("children", []):
        _branch(sub, child)


def scorecard(console: Console, card: dict[str, Any]) -> None:
    console.rule(f"scorecard at {DEMO_NOW:%Y-%m-%d %H:%M} UTC (each KPI in its current period)")
    tree = Tree(f"[bold]Acme Corp[/bold]  score {number(card.get('score'))}")
    for goal in card.get("goals", []):
        _branch(tree, goal)
    console.print(tree)
    table = Table("perspective", "score", "KPIs", "statuses", title="balanced scorecard")
    for row in card.get("perspectives", []):
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
        table.add_row(row["perspective"], number(row["score"]), str(row["kpis"]), statuses)
    console.print(table)
    counts: dict[str, int] = {}
    for k in card.get("kpis", []):
        counts[k["status"]] = counts.get(k["status"], 0) + 1
    console.print("KPIs by status: " + ", ".join(f"{s} {counts.get(s, 0)}" for s in COLOURS))


# what the demo plants (docs/demo.md): the rest comes from the example as it is
PLANTED = {
    ("review_overdue", "sales-pipeline-review"): "the demo clock",
    ("kpi_without_data", "engagement"): "no survey sent",
    ("stale_metric", "web.session"): "web feed stopped",
    ("unmatched_metric", "crm.dela.won"): "a mistyped metric",
}


def alignment(console: Console, *answers: dict[str, Any]) -> None:
    """Every service's findings, as the product answers them: goals' (the definitions, GET
    /v1/alignment), the notifier's (overdue reviews, GET /v1/findings) and the evaluator's
    (the data, GET /v1/data-health)."""
    console.rule(
        "alignment findings (goals GET /v1/alignment, notifier GET /v1/findings,"
        " evaluator GET /v1/data-health)"
    )
    findings = [f for answer in answers for f in answer.get("findings", [])]
    table = Table("severity", "rule", "node", "explanation", "planted by")
    for f in findings:
        node = f"{f.get('node_type', '')} {f.get('node_id', '')}".strip()
        planted = PLANTED.get((f.get("rule", ""), f.get("node_id", "")), "")
        table.add_row(f.get("severity", ""), f.get("rule", ""), node, f["explanation"], planted)
    console.print(table)


def notifications(console: Console, sinks: Path, since_ns: int) -> None:
    console.rule("notifications delivered to the local SMTP sink and Slack stand-in")
    mail = stack.read_sink(sinks, "mail", since_ns)
    slack = stack.read_sink(sinks, "slack", since_ns)
    if not mail and not slack:  # a rerun: every transition was notified once, by an earlier run
        console.print(
            "none new in this run: the demo tenant's breaches and reminders were notified by an "
            "earlier run, and each is sent once; below, what the sinks kept for acme"
        )
        mail = [m for m in stack.read_sink(sinks, "mail") if _to_acme(m)]
        slack = stack.read_sink(sinks, "slack")
    emails = Table("to", "subject", title=f"{len(mail)} email(s)")
    for m in sorted(mail, key=lambda m: (str(m["subject"]), str(m["to"]))):
        emails.add_row(", ".join(m["to"]), str(m["subject"]))  # type: ignore[arg-type]
    console.print(emails)
    posts = Table("channel", "message", title=f"{len(slack)} Slack message(s)")
    for s in sorted(slack, key=lambda s: (str(s["channel"]), _slack_text(s["payload"]))):
        posts.add_row(f"#{s['channel']}", _slack_text(s["payload"]))
    console.print(posts)
    console.print(f"(every message is kept as a JSON file under {sinks}/)")


def _to_acme(mail: dict[str, object]) -> bool:
    """The demo tenant's mail (the bench shares the sinks and mails @bench.example)."""
    return any(str(to).endswith("@acme.example") for to in mail["to"])  # type: ignore[attr-defined]


def _slack_text(payload: Any) -> str:
    text = payload.get("text") if isinstance(payload, dict) else None
    return str(text or payload)[:160]


def urls(console: Console) -> None:
    console.rule("open")
    for spec in processes.SERVICES:
        port = processes.port_of(spec, os.environ)
        console.print(f"  {spec.name:15} http://127.0.0.1:{port}/docs")
    web_port = processes.port_of(processes.WEB, os.environ)
    console.print(f"  {'web view':15} http://127.0.0.1:{web_port}/ (viewer key: see above)")
    console.print(f"  SMTP sink       smtp://127.0.0.1:{stack.SMTP_PORT}")
    console.print(f"  Slack stand-in  {stack.SLACK_URL}/docs")
    console.print("  " + _grafana())
    console.print(f"  mail and Slack messages as files: {stack.SINKS}/")
    console.print(f"  API keys of the demo tenant: {stack.STATE}/acme.json; stop all: make down")


def _grafana() -> str:
    """Grafana's URL on the demo's quarter when one answers (docs/grafana.md), else how to."""
    try:
        up = httpx.get(f"{GRAFANA_URL}/api/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        up = False
    if not up:
        return f"Grafana         not running on {GRAFANA_URL}: see docs/grafana.md"
    start, end = (int(t.timestamp() * 1000) for t in (QUARTER_START, DEMO_NOW))
    return f"Grafana         {GRAFANA_URL}/?from={start}&to={end} (the demo's quarter)"
