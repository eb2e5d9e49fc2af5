"""The pure rules of incidents: which breaches the cascade links, root causes and their
share of the gap, the group wait, and the email thread."""

from typing import Any

import pytest
from kpi_notifier.incidents import (
    chain_up,
    gap,
    group_key,
    group_wait_s,
    shares,
    summary,
    thread_headers,
)
from kpi_notifier.routing import Breach

from tests.support.strategy_events import load
from tests.unit.kpi_notifier.acme import acme, breach

UNITS = {"revenue": "acme", "revenue-emea": "sales-emea", "revenue-amer": "sales-amer"}


def short(kpi: str, actual: float, expected: float | None, target: float | None = 1e7) -> Breach:
    numbers = {"actual": actual, "expected": expected, "target": target}
    facts: dict[str, Any] = {"kpi_id": kpi, "kpi_title": kpi, "so_that_chain": [], **numbers}
    return breach(kpi, UNITS[kpi], "owner", facts=facts)


def test_the_regions_and_revenue_share_one_group_and_a_kpi_on_its_own_has_none() -> None:
    d = acme()
    assert chain_up(d, "revenue-emea") == ["revenue-emea", "revenue"]
    assert {group_key(d, k) for k in ("revenue", "revenue-emea", "revenue-amer")} == {"revenue"}
    assert group_key(d, "ar-days") is None
    assert group_key(d, "profit-margin") is None  # a formula input is not a contribution


def test_causes_are_the_leaves_and_share_their_parents_gap() -> None:
    members = [short("revenue", 3.5e6, 6e6), short("revenue-emea", 2e6, 3.5e6),
               short("revenue-amer", 1.5e6, 2.5e6)]  # fmt: skip
    found = shares(acme(), members)
    assert [c.kpi_id for c in found.causes] == ["revenue-emea", "revenue-amer"]
    assert [p.kpi_id for p in found.parents] == ["revenue"]
    assert found.shares == {"brc-revenue-emea": 0.6, "brc-revenue-amer": 0.4}


def test_without_the_parent_the_causes_share_their_summed_gap() -> None:
    members = [short("revenue-emea", 2e6, 5e6), short("revenue-amer", 1.5e6, 2.5e6)]
    assert summary(acme(), members)["causes"][0]["share"] == 0.75


def test_a_gap_is_the_shortfall_to_date_else_to_target_and_unknown_without_an_actual() -> None:
    assert gap({"actual": 2.0, "expected": 5.0, "target": 9.0}) == 3.0
    assert gap({"actual": 2.0, "expected": None, "target": 9.0}) == 7.0
    assert gap({"actual": None, "expected": 5.0}) is None
    member = short("revenue-emea", 2e6, None, target=None)
    assert summary(acme(), [member])["causes"][0]["share"] is None


@pytest.mark.parametrize(("wait", "expected"), [(None, 0.3), ("2s", 2.0), ("250ms", 0.25)])
def test_the_route_group_wait_wins_over_the_default(wait: str | None, expected: float) -> None:
    doc = load()
    if wait is not None:
        doc["alerts"]["routes"][1]["group_wait"] = wait
    emea = breach("revenue-emea", "sales-emea", "lars")
    assert group_wait_s(acme(doc), emea, 0.3) == expected


def test_updates_reply_to_the_first_message_of_the_recipient() -> None:
    first = thread_headers("incident", "inc-1", "lars", "incident:inc-1:b1:email:lars")
    update = thread_headers("incident_update", "inc-1", "lars", "incident:inc-1:b2:email:lars")
    other = thread_headers("incident", "inc-1", "ana", "incident:inc-1:b1:email:ana")
    assert update["In-Reply-To"] == update["References"] == first["Message-ID"]
    assert update["Message-ID"] != first["Message-ID"] != other["Message-ID"]


def test_the_bench_latency_kpis_stand_alone_so_grouping_never_holds_their_breaches() -> None:
    """`make bench` (e) measures event-to-notification on these KPIs with grouping on: none
    is linked by `contributes_to`, so none waits for a group (docs/notifier.md)."""
    from kpi_notifier.directory import build_directory

    from bench.tenant import strategy
    from tests.support.strategy_events import definitions

    directory = build_directory(definitions(strategy("run1")).values())
    assert directory.kpis
    assert all(group_key(directory, k) is None for k in directory.kpis)
