"""Every Prometheus alert rule has a section in the runbook (docs/operations.md) saying what it
means and what to do, and a row in docs/deployment.md; and nothing documents a rule that is
gone."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).parents[2]
RULES = REPO / "deploy" / "prometheus" / "rules" / "kpi-cascade.rules.yml"


def _alerts() -> list[str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule]


def _sections(doc: str) -> dict[str, str]:
    parts = re.split(r"^### (Kpi\w+)\n", doc, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_alert_has_a_runbook_section_with_meaning_and_action() -> None:
    sections = _sections((REPO / "docs" / "operations.md").read_text(encoding="utf-8"))
    alerts = _alerts()
    assert alerts
    assert sorted(sections) == sorted(alerts)
    for name in alerts:
        assert "**Means**" in sections[name], name
        assert "**Do**" in sections[name], name


def test_every_alert_is_in_the_deployment_table() -> None:
    doc = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(Kpi\w+)` \|", doc, flags=re.M))
    assert rows == set(_alerts())
