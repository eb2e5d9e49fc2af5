"""What the demo prints: the applied changes, the scorecard tree, alignment findings, the
notifications that went out, and where to look next."""

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from demo import stack
from demo.tenant import DemoTenant

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


def _number(value: Any) -> str:
    if value is None:
        return "-"
    v = float(value)
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.3g}"


def _kpi_label(k: dict[str, Any]) -> str:
    style = COLOURS.get(k["status"], "")
    return (
        f"[{style}]{k['status']:>9}[/{style}]  {k['title']}  "
        f"actual {_number(k['actual'])} / target {_number(k['target'])}"
        f" (expected {_number(k['expected'])}, forecast {_number(k['forecast'])})"
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
    console.rule("scorecard")
    tree = Tree(f"[bold]Acme Corp[/bold]  score {_number(card.get('score'))}")
    for goal in card.get("goals", []):
        _branch(tree, goal)
    console.print(tree)
    table = Table("perspective", "score", "KPIs", "statuses", title="balanced scorecard")
    for row in card.get("perspectives", []):
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(row["statuses"].items()))
        table.add_row(row["perspective"], _number(row["score"]), str(row["kpis"]), statuses)
    console.print(table)


def alignment(console: Console, body: dict[str, Any]) -> None:
    console.rule("alignment findings")
    findings = body.get("findings", [])
    if not findings:
        console.print("no findings: every KPI answers 'so that ...'")
    table = Table("severity", "rule", "node", "explanation and fix")
    for f in findings:
        node = f"{f.get('node_type', '')} {f.get('node_id', '')}".strip()
        text = f"{f.get('explanation', '')}\n[dim]{f.get('suggested_fix', '')}[/dim]"
        table.add_row(f.get("severity", ""), f.get("rule", ""), node, text)
    if findings:
        console.print(table)


def notifications(console: Console, tenant: DemoTenant, sinks: Path) -> None:
    console.rule("notifications")
    log = tenant.notifications()
    items = log if isinstance(log, list) else log.get("notifications", [])
    table = Table("kind", "channel", "recipient", "status", "subject / breach")
    for n in items:
        table.add_row(
            str(n.get("kind")),
            str(n.get("channel")),
            str(n.get("recipient")),
            str(n.get("status")),
            str(n.get("subject") or n.get("breach_id") or ""),
        )
    console.print(table)
    mail = stack.read_sink(sinks, "mail")
    slack = stack.read_sink(sinks, "slack")
    console.print(f"the SMTP sink received {len(mail)} email(s); the Slack stand-in {len(slack)}:")
    for m in mail[-5:]:
        console.print(f"  email to {', '.join(m['to'])}: {m['subject']}")  # type: ignore[arg-type]
    for s in slack[-5:]:
        console.print(f"  slack #{s['channel']}: {_slack_text(s['payload'])}")
    console.print(f"  (every message is kept as a file under {sinks}/)")


def _slack_text(payload: Any) -> str:
    text = payload.get("text") if isinstance(payload, dict) else None
    return str(text or payload)[:120]


def urls(console: Console) -> None:
    console.rule("open")
    for name, port in (
        ("goals", 8001),
        ("metrics-ingest", 8002),
        ("evaluator", 8003),
        ("notifier", 8004),
    ):
        console.print(f"  {name:15} http://127.0.0.1:{port}/docs")
    console.print(f"  Slack stand-in  {stack.SLACK_URL}/docs")
    console.print("  API keys of the demo tenant: .local/demo/acme.json; stop all: make down")
