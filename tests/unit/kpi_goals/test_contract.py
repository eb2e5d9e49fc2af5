"""Goals publishes each node normalised (kpi_common.definitions): the one home of defaults
and target arithmetic. Every node of the acme example normalises and parses as v2."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from kpi_common.definitions import (
    AlertRouteDef,
    Direction,
    KpiDef,
    OrganizationDef,
    PeriodKind,
    parse_definition,
)
from kpi_common.events import NodeUpsertedV2
from kpi_goals.contract import normalise
from kpi_goals.nodes import to_nodes

ACME = Path(__file__).parents[3] / "examples" / "acme" / "strategy.yaml"


def _acme() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACME.read_text())
    return loaded


def _kpi(**fields: Any) -> KpiDef:
    measure = {"metric": "m", "aggregation": "sum"}
    base: dict[str, Any] = {"id": "k", "title": "K", "measure": measure}
    kpi = normalise("kpi", "k", {**base, **fields})
    assert isinstance(kpi, KpiDef)
    return kpi


def test_every_acme_node_normalises_and_round_trips_as_json() -> None:
    for node in to_nodes(_acme()):
        typed = normalise(node.node_type, node.node_id, node.definition)
        assert parse_definition(typed.model_dump(mode="json")) == typed
        event = NodeUpsertedV2(
            node_type=node.node_type, node_id=node.node_id, revision=1, definition=typed
        )
        assert NodeUpsertedV2.model_validate(event.model_dump(mode="json")) == event


def test_acme_kpis_carry_resolved_targets() -> None:
    kpis = {
        n.node_id: normalise("kpi", n.node_id, n.definition)
        for n in to_nodes(_acme())
        if n.node_type == "kpi"
    }
    revenue, churn, leads = kpis["revenue"], kpis["churn-rate"], kpis["qualified-leads"]
    assert isinstance(revenue, KpiDef)
    assert isinstance(churn, KpiDef)
    assert isinstance(leads, KpiDef)
    assert revenue.targets.for_period("2026") == pytest.approx(12_000_000)
    assert churn.targets.for_period("2026-Q1") == pytest.approx(0.045)
    assert churn.measure.kind == "ratio"
    assert churn.direction is Direction.DECREASE
    assert leads.targets.for_period("2026-Q2") == 150
    assert leads.targets.for_period("2027-Q1") is None
    assert leads.targets.reasons["2026-Q2"].startswith("Q1 review")
    margin = kpis["profit-margin"]
    assert isinstance(margin, KpiDef)
    assert margin.measure.inputs == ["revenue", "operating-costs"]


def test_defaults_are_filled_in() -> None:
    kpi = _kpi(target=10)
    assert (kpi.direction, kpi.period, kpi.at_risk_below, kpi.weight) == (
        Direction.INCREASE,
        PeriodKind.MONTH,
        0.9,
        1.0,
    )
    assert kpi.measure.metric is not None
    assert kpi.measure.metric.where == {}
    org = normalise("organization", "organization", {"name": "Acme"})
    assert isinstance(org, OrganizationDef)
    assert (org.fiscal_year_start, org.timezone) == ("01-01", "UTC")


def test_relative_targets_move_the_baseline() -> None:
    assert _kpi(baseline=200, target={"increase_by": 5}).targets.default == 205
    assert _kpi(baseline=200, target={"increase_by": "5%"}).targets.default == 210
    assert _kpi(baseline=200, target={"decrease_by": "10%"}).targets.default == 180


def test_a_period_target_wins_over_the_single_target_in_its_period() -> None:
    kpi = _kpi(period="quarter", target=50, targets=[{"period": "2026-Q1", "value": 70}])
    assert kpi.targets.for_period("2026-Q1") == 70
    assert kpi.targets.for_period("2026-Q2") == 50


def test_a_range_kpi_has_a_band_and_a_rolling_kpi_a_window() -> None:
    kpi = _kpi(direction="range", target={"min": 2, "max": 4}, period={"rolling_days": 30})
    assert kpi.targets.band is not None
    assert (kpi.targets.band.low, kpi.targets.band.high) == (2, 4)
    assert (kpi.period, kpi.rolling_days) == (PeriodKind.DAY, 30)


def test_a_definition_of_another_node_type_or_id_is_refused() -> None:
    org = normalise("organization", "organization", {"name": "Acme"})
    with pytest.raises(ValueError, match="definition is a organization"):
        NodeUpsertedV2(node_type="kpi", node_id="x", revision=1, definition=org)
    kpi = _kpi(target=1)
    with pytest.raises(ValueError, match="is not the node id"):
        NodeUpsertedV2(node_type="kpi", node_id="other", revision=1, definition=kpi)


def test_a_routes_mode_is_live_unless_it_says_shadow() -> None:
    live = normalise("alert_route", "0", {"notify": ["owner"]})
    shadow = normalise("alert_route", "1", {"notify": ["owner"], "mode": "shadow"})
    assert isinstance(live, AlertRouteDef)
    assert isinstance(shadow, AlertRouteDef)
    assert (live.mode, shadow.mode) == ("live", "shadow")
