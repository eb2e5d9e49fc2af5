"""Every rejection of a strategy document names its field path (and YAML line)."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
from kpi_common.errors import FieldError, Invalid
from kpi_goals.parsing import Source, parse, parse_yaml
from kpi_goals.validation import validate

from tests.support.strategy_events import ACME, ACME_ORIGINAL

Edit = Callable[[dict[str, Any]], None]


def acme() -> dict[str, Any]:
    data: dict[str, Any] = parse_yaml(ACME.read_text()).data
    return data


def errors_of(doc: Any) -> list[FieldError]:
    with pytest.raises(Invalid) as info:
        validate(Source(doc))
    return info.value.errors


def kpi(doc: dict[str, Any], kpi_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(k for k in doc["kpis"] if k["id"] == kpi_id)
    return found


def test_acme_is_valid_unchanged() -> None:
    document = validate(parse(ACME.read_bytes(), "application/yaml"))
    assert len(document.kpis) == 14
    assert document.organization.name == "Acme Corp"


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(doc: dict[str, Any]) -> None:
        target: Any = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


REJECTIONS: dict[str, tuple[Edit, str, str]] = {
    "so_that": (_set(("kpis", 4, "so_that"), "nowhere"), "kpis[4].so_that", "unknown goal"),
    "supports": (_set(("objectives", 0, "supports"), "x"), "objectives[0].supports", "unknown"),
    "supports list": (
        _set(("objectives", 1, "supports"), ["grow-revenue", "nope"]),
        "objectives[1].supports[1]",
        "unknown goal or objective 'nope'",
    ),
    "contributes_to": (
        _set(("kpis", 1, "contributes_to"), "revenue-x"),
        "kpis[1].contributes_to",
        "unknown KPI",
    ),
    "unit": (_set(("kpis", 0, "unit"), "hq"), "kpis[0].unit", "unknown unit 'hq'"),
    "owner": (_set(("goals", 0, "owner"), "zed"), "goals[0].owner", "unknown person 'zed'"),
    "parent": (_set(("units", 1, "parent"), "moon"), "units[1].parent", "unknown unit"),
    "person unit": (_set(("people", 0, "unit"), "moon"), "people[0].unit", "unknown unit"),
    "attendees": (
        _set(("reviews", 0, "attendees"), ["morgan", "nobody"]),
        "reviews[0].attendees[1]",
        "unknown person 'nobody'",
    ),
    "burn-rate rule on a level KPI": (
        _set(("kpis", 9, "burn_rates"), [{"long": "7d", "short": "1d", "factor": 2}]),
        "kpis[9].burn_rates",
        "needs a KPI that accrues (a metric with sum or count), not avg",
    ),
    "burn-rate short window": (
        _set(("kpis", 7, "burn_rates"), [{"long": "7d", "short": "1w", "factor": 2}]),
        "kpis[7].burn_rates[0].short",
        "must be shorter than long (7d)",
    ),
    "burn-rate long window": (
        _set(("kpis", 3, "burn_rates"), [{"long": "13w", "short": "1d", "factor": 2}]),
        "kpis[3].burn_rates[0].long",
        "must be at most 89d, the shortest quarter",
    ),
    "burn-rate budget": (
        _set(
            ("kpis", 7, "burn_rates"), [{"long": "4w", "short": "1w", "factor": 2, "budget": "0%"}]
        ),
        "kpis[7].burn_rates[0].budget",
        "must be more than 0% and at most 100%",
    ),
    "burn-rate factor": (
        _set(("kpis", 7, "burn_rates"), [{"long": "4w", "short": "1w", "factor": 0}]),
        "kpis[7].burn_rates[0].factor",
        "greater than 0",
    ),
    "burn-rate route rule": (
        _set(("alerts", "routes", 0, "burn_rates"), [{"long": "1d", "short": "2d", "factor": 2}]),
        "alerts.routes[0].burn_rates[0].short",
        "must be shorter than long (1d)",
    ),
    "group_wait over the limit": (
        _set(("alerts", "routes", 0, "group_wait"), "11m"),
        "alerts.routes[0].group_wait",
        "must be at most 10m",
    ),
    "group_wait unreadable": (
        _set(("alerts", "routes", 0, "group_wait"), "soon"),
        "alerts.routes[0].group_wait",
        "must be a wait such as 300ms, 2s or 1m",
    ),
    "inhibit label": (
        _set(("alerts", "inhibit"), [{"equal": ["owner"]}]),
        "alerts.inhibit[0].equal[0]",
        "'unit', 'kpi' or 'perspective'",
    ),
    "inhibit unit": (
        _set(("alerts", "inhibit"), [{"source": {"unit": "moon"}}]),
        "alerts.inhibit[0].source.unit",
        "unknown unit 'moon'",
    ),
    "formula id": (
        _set(("kpis", 6, "measure"), {"formula": "revenue / costs"}),
        "kpis[6].measure.formula",
        "unknown KPI 'costs' in formula",
    ),
    "formula syntax": (
        _set(("kpis", 6, "measure"), {"formula": "revenue / (revenue"}),
        "kpis[6].measure.formula",
        "invalid formula",
    ),
    "route channel": (
        _set(("alerts", "routes", 0, "notify"), ["owner", "teams"]),
        "alerts.routes[0].notify[1]",
        "unknown channel or person 'teams'",
    ),
    "route unit in a list": (
        _set(("alerts", "routes", 0, "match"), {"unit": ["finance", "moon"]}),
        "alerts.routes[0].match.unit[1]",
        "unknown unit 'moon'",
    ),
    "route unit": (
        _set(("alerts", "routes", 0, "match"), {"unit": "moon"}),
        "alerts.routes[0].match.unit",
        "unknown unit",
    ),
    "supports cycle": (
        _set(("objectives", 0, "supports"), "generate-leads"),
        "objectives[0].supports",
        "cycle: win-new-clients -> generate-leads",
    ),
    "unit cycle": (
        _set(("units", 0, "parent"), "sales-emea"),
        "units[0].parent",
        "cycle: acme -> sales-emea -> sales -> acme",
    ),
    "contribution cycle": (
        _set(("kpis", 0, "contributes_to"), "revenue-emea"),
        "kpis[0].contributes_to",
        "cycle: revenue -> revenue-emea -> revenue",
    ),
    "formula cycle": (
        _set(("kpis", 6, "measure"), {"formula": "profit-margin * 2"}),
        "kpis[6].measure.formula",
        "cycle: profit-margin -> profit-margin",
    ),
    "duplicate kpi": (_set(("kpis", 2, "id"), "revenue-emea"), "kpis[2].id", "duplicate id"),
    "duplicate across cascade": (
        _set(("success_factors", 0, "id"), "grow-revenue"),
        "success_factors[0].id",
        "duplicate",
    ),
    "duplicate unit": (_set(("units", 2, "id"), "sales"), "units[2].id", "duplicate id 'sales'"),
    "period label": (
        _set(("kpis", 10, "targets", 1, "period"), "2026-Q5"),
        "kpis[10].targets[1].period",
        "not a quarter period",
    ),
    "duplicate period": (
        _set(("kpis", 10, "targets", 1, "period"), "2026-Q1"),
        "kpis[10].targets[1].period",
        "duplicate period",
    ),
    "unknown period": (_set(("kpis", 3, "period"), "fortnight"), "kpis[3].period", "Input"),
    "date": (_set(("objectives", 0, "due"), "2026-02-30"), "objectives[0].due", "date"),
    "review date": (_set(("reviews", 0, "next"), "soon"), "reviews[0].next", "date"),
    "fiscal start": (
        _set(("organization", "fiscal_year_start"), "13-01"),
        "organization.fiscal_year_start",
        "month",
    ),
    "timezone": (
        _set(("organization", "timezone"), "Mars/Olympus"),
        "organization.timezone",
        "unknown time zone",
    ),
    "duration": (
        _set(("reviews", 0, "remind_before"), ["7 days"]),
        "reviews[0].remind_before[0]",
        "pattern",
    ),
    "unknown field": (_set(("kpis", 2, "colour"), "red"), "kpis[2].colour", "Extra inputs"),
    "unknown top field": (_set(("budget",), 1), "budget", "Extra inputs"),
    "aggregation": (
        _set(("kpis", 3, "measure", "aggregation"), "median"),
        "kpis[3].measure.aggregation",
        "'sum'",
    ),
    "ratio part": (
        _set(("kpis", 8, "measure", "ratio", "numerator", "aggregation"), "p99"),
        "kpis[8].measure.ratio.numerator.aggregation",
        "'sum'",
    ),
    "wrong type": (_set(("kpis", 3, "target"), "fifty"), "kpis[3].target", "valid number"),
    "wrong type list": (_set(("units",), {"id": "x"}), "units", "valid list"),
    "relative target without baseline": (
        _set(("kpis", 1, "target"), {"increase_by": "5%"}),
        "kpis[1].baseline",
        "needs a baseline",
    ),
    "relative target both": (
        _set(("kpis", 0, "target"), {"increase_by": "5%", "decrease_by": "1%"}),
        "kpis[0].target",
        "exactly one",
    ),
    "range": (_set(("kpis", 3, "target"), {"min": 5, "max": 1}), "kpis[3].target.min", "greater"),
    "channel kind": (
        _set(("alerts", "channels", "sales-slack"), {}),
        "alerts.channels.sales-slack",
        "exactly one",
    ),
    "missing field": (lambda d: d["goals"][0].pop("title"), "goals[0].title", "Field required"),
    "route mode": (
        _set(("alerts", "routes", 1, "mode"), "quiet"),
        "alerts.routes[1].mode",
        "'live' or 'shadow'",
    ),
}


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_each_rejection_names_its_field_path(name: str) -> None:
    edit, path, message = REJECTIONS[name]
    doc = acme()
    edit(doc)
    found = [(e.path, e.message) for e in errors_of(doc)]
    assert any(p == path and message in m for p, m in found), found


def test_every_error_is_listed_at_once() -> None:
    doc = acme()
    kpi(doc, "new-clients")["measure"]["aggregation"] = "median"
    kpi(doc, "ar-days")["so_that"] = "nowhere"
    doc["units"][1]["color"] = "blue"
    paths = {e.path for e in errors_of(doc)}
    assert paths == {"kpis[3].measure.aggregation", "kpis[4].so_that", "units[1].color"}


def test_yaml_errors_carry_their_line() -> None:
    text = ACME.read_text().replace(
        "aggregation: count, where: {new_customer: true}", "aggregation: median, where: {}"
    )
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "median" in t)
    with pytest.raises(Invalid) as info:
        validate(parse_yaml(text))
    [error] = info.value.errors
    assert (error.path, error.line) == ("kpis[3].measure.aggregation", line)


def test_unparseable_yaml_is_rejected_with_its_line() -> None:
    with pytest.raises(Invalid) as info:
        parse_yaml("organization:\n  name: [unclosed\n")
    assert info.value.errors[0].line is not None


def test_json_documents_are_accepted() -> None:
    import orjson

    doc = acme()
    document = validate(parse(orjson.dumps(doc), "application/json"))
    assert document.kpis[0].id == "revenue"
    broken = copy.deepcopy(doc)
    broken["kpis"][0]["unit"] = 5
    with pytest.raises(Invalid) as info:
        validate(parse(orjson.dumps(broken), "application/json"))
    assert [e.path for e in info.value.errors] == ["kpis[0].unit"]


def test_duplicate_yaml_keys_are_refused_with_their_line() -> None:
    text = ACME.read_text().replace("    target: 50\n", "    target: 50\n    target: 60\n")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t == "    target: 60")
    with pytest.raises(Invalid) as info:
        parse_yaml(text)
    [error] = info.value.errors
    assert (error.path, error.message, error.line) == ("kpis[3].target", "duplicate key", line)


def test_yaml_aliases_are_refused() -> None:
    text = "organization: &org {name: A}\nunits: [{id: a, name: *org}]\n"
    with pytest.raises(Invalid) as info:
        parse_yaml(text)
    assert [e.path for e in info.value.errors] == ["units[0].name"]


def test_route_match_takes_one_value_or_a_list() -> None:
    doc = acme()
    doc["alerts"]["routes"][0]["match"] = {
        "unit": ["finance", "sales"],
        "perspective": ["financial", "customer"],
        "severity": "critical",
        "kpi": ["revenue"],
    }
    document = validate(Source(doc))
    assert document.alerts.routes[0].match is not None
    assert document.alerts.routes[0].match.unit == ["finance", "sales"]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("kpis", 3, "target"), "50"),
        (("kpis", 0, "baseline"), True),
        (("kpis", 10, "targets", 0, "value"), "1e6"),
        (("objectives", 0, "due"), 20261231),
    ],
)
def test_numbers_and_dates_are_not_coerced_from_other_types(
    path: tuple[str | int, ...], value: object
) -> None:
    doc = acme()
    _set(path, value)(doc)
    [error] = errors_of(doc)
    assert error.path == "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)[1:]


def test_a_burn_rate_rule_needs_a_budget_when_the_at_risk_band_leaves_none() -> None:
    doc = acme()
    cash = kpi(doc, "cash-flow")
    cash["at_risk_below"] = 1
    found = [(e.path, e.message) for e in errors_of(doc)]
    assert found == [
        (
            "kpis[7].burn_rates[0].budget",
            "required: at_risk_below is 1, so its band leaves no budget",
        )
    ]
    cash["burn_rates"][0]["budget"] = "5%"
    validate(Source(doc))


def test_the_original_acme_example_still_validates_without_burn_rates() -> None:
    doc = parse_yaml(ACME_ORIGINAL.read_text()).data
    document = validate(Source(doc))
    assert all(not k.burn_rates for k in document.kpis)
