"""A breach of a period past the evaluator's paging horizon is a restatement: one notice per
route and recipient for its whole run, no reminders, no escalation."""

from datetime import timedelta

from kpi_notifier.directory import Match
from kpi_notifier.planning import escalation_due, plan_restatement, reminder_due
from kpi_notifier.routing import Breach, Silence

from tests.unit.kpi_notifier.acme import T0, acme, breach

RUN = "run-1"


def restated(
    kpi: str = "new-clients", unit: str = "sales", period: str = "2025-Q2", owner: str = "dana"
) -> Breach:
    facts = {"breach_id": f"brc-{kpi}-{period}", "kpi_id": kpi, "period": period}
    facts |= {"urgency": "restatement", "restatement_id": RUN, "restatement_reason": "recompute"}
    return breach(
        kpi,
        unit,
        owner,
        breach_id=f"brc-{kpi}-{period}",
        facts=facts,
        urgency="restatement",
        restatement_id=RUN,
    )


def test_every_breach_of_a_run_shares_one_key_per_route_and_recipient() -> None:
    q2, q3 = restated(period="2025-Q2"), restated(period="2025-Q3")
    first = plan_restatement(acme(), q2, "opened", [], T0)
    second = plan_restatement(acme(), q3, "opened", [], T0)
    keys = [p.dedup_key for p in first]
    assert keys == [
        f"restatement:{RUN}:route1:email:dana",
        f"restatement:{RUN}:route1:slack:sales-slack",
    ]
    assert [p.dedup_key for p in second] == keys
    assert {p.kind for p in first} == {"restatement"}
    assert {p.breach_id for p in first} == {None}  # a notice of the run, not of one breach
    context = first[0].context
    assert (context["restatement_id"], context["reason"]) == (RUN, "recompute")
    assert list(context["restated"]) == ["brc-new-clients-2025-Q2:opened"]
    assert context["restated"]["brc-new-clients-2025-Q2:opened"]["event"] == "opened"


def test_another_route_gets_its_own_notice() -> None:
    finance = restated("ar-days", "finance", owner="priya")
    [owner, slack] = plan_restatement(acme(), finance, "opened", [], T0)
    assert owner.dedup_key == f"restatement:{RUN}:route0:email:priya"
    assert slack.dedup_key == f"restatement:{RUN}:route0:slack:finance-slack"


def test_a_silenced_restated_breach_is_left_out() -> None:
    s = Silence("s1", Match(kpis=frozenset({"new-clients"})), ends_at=T0 + timedelta(days=1))
    assert plan_restatement(acme(), restated(), "opened", [s], T0) == []


def test_a_restatement_is_never_reminded_nor_escalated() -> None:
    b = restated()
    later = T0 + timedelta(days=30)
    assert reminder_due(b, timedelta(days=1), later) is None
    assert not escalation_due(acme(), b, later)
    assert reminder_due(breach(), timedelta(days=1), later) == 30
    assert escalation_due(acme(), breach(), later)
