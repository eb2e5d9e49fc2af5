"""Burn-rate alerts in the notifier: routing (the KPI rule like a breach of its severity, a
route's rule to that route), one dedup key per transition and recipient, and the wording
(the burn rates, both windows, the projected shortfall and the so-that chain)."""

import json
from pathlib import Path
from typing import Any

from kpi_notifier.burn_planning import as_breach, plan_burn
from kpi_notifier.messages import Messages

from tests.unit.kpi_notifier.acme import T0, acme

EXAMPLES = Path(__file__).resolve().parents[3] / "libs/kpi-common/src/kpi_common/examples"


def example(name: str, i: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.v1.json").read_text())[i]["data"]
    return data


def test_a_kpi_rule_goes_where_a_breach_of_its_kpi_would_once_per_recipient() -> None:
    alert = as_breach("t1", example("kpi.burn_rate.fired"), T0)
    planned = plan_burn(acme(), alert, "fired", [], T0)
    # acme's finance route: the owner by email and #finance-slack
    assert [(p.recipient.kind, p.recipient.to, p.kind) for p in planned] == [
        ("email", "priya", "burn"),
        ("slack", "finance-slack", "burn"),
    ]
    assert planned[0].dedup_key == f"burn:{alert.breach_id}:fired:email:priya"
    resolved = plan_burn(acme(), alert, "resolved", [], T0)
    assert {p.kind for p in resolved} == {"burn_resolved"}
    assert {p.dedup_key for p in planned}.isdisjoint({p.dedup_key for p in resolved})


def test_a_route_rule_goes_to_that_route() -> None:
    facts = {**example("kpi.burn_rate.fired"), "route_id": "2"}  # acme's catch-all: the owner
    planned = plan_burn(acme(), as_breach("t1", facts, T0), "fired", [], T0)
    assert [(p.recipient.kind, p.recipient.to) for p in planned] == [("email", "priya")]


def context(kind: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "alert": facts,
        "recipient_name": "Priya Nair",
        "owner_name": "Priya Nair",
        "owner_slack": None,
    }


def test_the_message_says_the_rates_the_windows_the_shortfall_and_why() -> None:
    m = Messages().render("burn", context("burn", example("kpi.burn_rate.fired")))
    assert m.subject == (
        "Warning: Operating cash flow burning its 2026 budget 2.1x (20.7% short at this pace)"
    )
    headline = (
        "Operating cash flow is burning its 2026 budget 2.1x as fast as it may over the last "
        "28 days, and 3.2x over the last 7 days confirm it (alert at 2.0x): at this pace the "
        "period ends 20.7% short (237,500 USD against a target of 1,150,000 USD)."
    )
    for part in (m.text, m.slack):
        assert headline in part
        assert "status now on track" in part
        assert "so that increase operating cash flow by 15%" in part
    assert "Budget: 10.0% of the target" in m.text


def test_resolved_messages_say_why() -> None:
    recovered = Messages().render(
        "burn_resolved", context("burn_resolved", example("kpi.burn_rate.resolved"))
    )
    assert recovered.subject == "Resolved: Operating cash flow burn rate (2026)"
    assert "back under its burn-rate threshold: 1.6x over the last 7 days" in recovered.text
    ended = Messages().render(
        "burn_resolved", context("burn_resolved", example("kpi.burn_rate.resolved", 1))
    )
    assert "period 2025 has ended" in ended.text
