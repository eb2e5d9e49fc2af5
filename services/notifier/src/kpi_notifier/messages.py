"""Message wording lives in Jinja2 templates under `templates/`, one place to change it.

Each kind renders four parts: `<family>.subject.j2`, `.txt.j2`, `.html.j2` (autoescaped)
and `.slack.j2` (Slack mrkdwn). Breach, reminder, escalation and resolved notices share the
`breach` family; the kind is in the context as `kind`. A restatement notice (`restatement`)
lists every restated breach of one run. Burn-rate alerts (`burn`, `burn_resolved`) share the
`burn` family, the alert in the context as `alert`.
An incident's notifications (`incident`, its
`incident_update`s and `incident_closed`) share the `incident` family.
"""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kpi_notifier.channels import Message

TEMPLATES = Path(__file__).parent / "templates"
FAMILY = {
    "breach": "breach",
    "resolved": "breach",
    "reminder": "breach",
    "escalation": "breach",
    "burn": "burn",
    "burn_resolved": "burn",
    "incident": "incident",
    "incident_update": "incident",
    "incident_closed": "incident",
}


def number(value: Any) -> str:
    """12 -> 12, 27.8 -> 27.8, 1234567.0 -> 1,234,567, 0.1234 -> 0.123, None -> n/a."""
    if value is None:
        return "n/a"
    value = float(value)
    if value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


def lcfirst(text: str) -> str:
    return text[:1].lower() + text[1:]


class Messages:
    """`web_url`: where people open the web view (KPI_NOTIFIER_WEB_URL); when set, a review
    reminder links the review's pack there."""

    def __init__(self, directory: Path = TEMPLATES, web_url: str = "") -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["number"] = number
        self._env.filters["lcfirst"] = lcfirst
        self._env.globals["web_url"] = web_url.rstrip("/")

    def render(self, kind: str, context: dict[str, Any]) -> Message:
        family = FAMILY.get(kind, kind)
        part = {
            p: self._env.get_template(f"{family}.{p}.j2").render(**context, _ctx=context)
            for p in PARTS
        }
        return Message(
            subject=" ".join(part["subject"].split()),
            text=part["txt"],
            html=part["html"],
            slack=part["slack"].strip(),
            payload={**context, "subject": " ".join(part["subject"].split()), "text": part["txt"]},
        )


PARTS = ("subject", "txt", "html", "slack")
