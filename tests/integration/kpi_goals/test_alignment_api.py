"""GET /v1/alignment: every rule, once where it fires and once where it does not, on the
acme strategy applied through the API (real Postgres). The app's limit of KPIs per objective
is 3. Overdue reviews are the notifier's finding, not goals'."""

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from kpi_goals.alignment import RULES
from kpi_goals.parsing import parse_yaml

from tests.integration.kpi_goals.conftest import Tenant
from tests.support.strategy_events import ACME

Doc = dict[str, Any]
Edit = Callable[[Doc], None]


def acme() -> Doc:
    doc: Doc = parse_yaml(ACME.read_text()).data
    return doc


def kpi(doc: Doc, kpi_id: str) -> Doc:
    found: Doc = next(k for k in doc["kpis"] if k["id"] == kpi_id)
    return found


def keep(_: Doc) -> None:
    """Acme as it is."""


def _no_so_that(doc: Doc) -> None:
    del kpi(doc, "csat")["so_that"]


def _cut_supports(doc: Doc) -> None:
    del doc["success_factors"][3]["supports"]


def _smart_gaps(doc: Doc) -> None:
    del kpi(doc, "csat")["owner"]
    del kpi(doc, "csat")["target"]


def _amer_short(doc: Doc) -> None:
    kpi(doc, "revenue-amer")["target"] = 4000000


def _emea_customer(doc: Doc) -> None:
    kpi(doc, "revenue-emea")["perspective"] = "customer"


def _lonely_goal(doc: Doc) -> None:
    doc["goals"].append(
        {"id": "go-green", "unit": "acme", "owner": "morgan", "title": "Halve our emissions"}
    )


def _fourth_kpi(doc: Doc) -> None:
    doc["kpis"].append({**kpi(doc, "new-clients"), "id": "demos", "title": "Demos held"})


# rule -> (edit that makes it fire, node it fires on, edit where it does not, node to check)
CASES: dict[str, tuple[Edit, str, Edit, str]] = {
    "kpi_dead_end": (_no_so_that, "csat", keep, "csat"),
    "no_goal_reached": (_cut_supports, "engaging-website", keep, "engaging-website"),
    "smart_gap": (_smart_gaps, "csat", keep, "csat"),
    "targets_do_not_add_up": (_amer_short, "revenue", keep, "revenue"),
    "only_financial_kpis": (keep, "sales-emea", _emea_customer, "sales-emea"),
    "goal_without_kpi": (_lonely_goal, "go-green", keep, "grow-revenue"),
    "too_many_kpis": (_fourth_kpi, "win-new-clients", keep, "win-new-clients"),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == {r.id for r in RULES}


async def findings(tenant: Tenant, edit: Edit, rule: str) -> list[Doc]:
    doc = acme()
    edit(doc)
    resp = await tenant.apply(orjson.dumps(doc), **{"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    body = (await tenant.get(f"/v1/alignment?rule={rule}")).json()
    found: list[Doc] = body["findings"]
    return found


@pytest.mark.parametrize("rule", sorted(CASES))
async def test_rule_fires(goals_tenant: Tenant, rule: str) -> None:
    edit, node, _, _ = CASES[rule]
    found = await findings(goals_tenant, edit, rule)
    hits = [f for f in found if f["node_id"] == node]
    assert len(hits) == 1, found
    assert hits[0]["explanation"]
    assert hits[0]["suggested_fix"]
    assert hits[0]["severity"] in ("error", "warning", "info")


@pytest.mark.parametrize("rule", sorted(CASES))
async def test_rule_does_not_fire(goals_tenant: Tenant, rule: str) -> None:
    _, _, edit, node = CASES[rule]
    found = await findings(goals_tenant, edit, rule)
    assert [f for f in found if f["node_id"] == node] == []


async def test_acme_targets_add_up_and_the_explanations_name_the_numbers(
    goals_tenant: Tenant,
) -> None:
    found = await findings(goals_tenant, _amer_short, "targets_do_not_add_up")
    assert "= 11,000,000" in found[0]["explanation"]
    assert "12,000,000" in found[0]["explanation"]


async def test_acme_findings_in_full(acme: Tenant) -> None:
    body = (await acme.get("/v1/alignment")).json()
    got = sorted((f["rule"], f["node_id"]) for f in body["findings"])
    assert got == [
        ("only_financial_kpis", "sales-amer"),
        ("only_financial_kpis", "sales-emea"),
    ]  # a review past its `next` date is the notifier's finding (it knows which were held)
    assert body["counts"] == {"error": 0, "warning": 0, "info": 2}
    assert "review_overdue" not in {r["id"] for r in body["rules"]}
