from datetime import date, timedelta

import pytest
from kpi_common.definitions import (
    AlertChannelDef,
    AlertRouteDef,
    ReviewDef,
    UnitDef,
    parse_definition,
)
from kpi_notifier.directory import build_directory, check, parse_duration

from tests.unit.kpi_notifier.acme import acme


def test_acme_becomes_a_directory_with_people_units_routes_and_reviews() -> None:
    d = acme()
    assert d.people["dana"].email == "dana@acme.example"
    assert d.units["sales-emea"].parent == "sales"
    assert d.kpis["ar-days"].owner == "priya"
    assert d.channels["sales-slack"].kind == "slack"
    assert d.channels["sales-slack"].targets == ("${ACME_SALES_SLACK_WEBHOOK}",)
    assert [r.position for r in d.routes] == [0, 1, 2]
    assert d.routes[1].escalate_after == timedelta(days=2)
    assert d.reviews["quarterly-business-review"].next == date(2026, 3, 31)
    assert d.reviews["quarterly-business-review"].remind_before == (
        timedelta(days=7),
        timedelta(days=1),
    )
    assert d.timezone == "UTC"


def test_unit_owner_is_explicit_else_the_first_person_placed_in_the_unit() -> None:
    d = acme()
    assert d.unit_owner("sales") == "dana"
    assert d.unit_owner("acme") == "morgan"
    assert d.unit_owner("sales-emea") == "lars"
    explicit = build_directory([UnitDef(id="x", name="X", owner="zoe")])
    assert explicit.unit_owner("x") == "zoe"


def test_ancestors_walk_up_to_the_root_and_stop_on_a_cycle() -> None:
    assert acme().ancestors("sales-emea") == ["sales-emea", "sales", "acme"]
    loop = build_directory(
        [UnitDef(id="a", name="A", parent="b"), UnitDef(id="b", name="B", parent="a")]
    )
    assert loop.ancestors("a") == ["a", "b"]


def test_channels_of_every_kind_are_understood() -> None:
    d = build_directory(
        [
            parse_definition(
                {"node_type": "alert_channel", "id": "ops", "kind": "email",
                 "email": {"to": ["ops@x.example", "cto@x.example"]}}
            ),
            parse_definition(
                {"node_type": "alert_channel", "id": "hook", "kind": "webhook",
                 "webhook": {"url": "https://h.example/in", "secret": "${S}"}}
            ),
        ]
    )  # fmt: skip
    assert d.channels["ops"].targets == ("ops@x.example", "cto@x.example")
    assert d.channels["hook"].kind == "webhook"
    assert d.channels["hook"].secret == "${S}"


def test_types_the_notifier_does_not_use_are_ignored() -> None:
    d = build_directory([parse_definition({"node_type": "goal", "id": "g", "title": "G"})])
    assert d == build_directory([])


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("12h", timedelta(hours=12)), ("2d", timedelta(days=2)),
     ("1w", timedelta(weeks=1))],
)  # fmt: skip
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_a_bad_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("2 days")


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        (ReviewDef(id="r", cadence="monthly", next=date(2026, 1, 30), remind_before=["soon"]),
         "not a duration"),
        (AlertRouteDef(id="0", notify=["owner"], escalate_after="2 days"), "not a duration"),
        (AlertRouteDef(id="first", notify=["owner"]), "not a position"),
        (AlertChannelDef(id="ops", kind="slack"), "without its slack settings"),
    ],
)  # fmt: skip
def test_a_definition_the_notifier_cannot_use_is_refused_naming_why(
    definition: object, reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        check(definition)  # type: ignore[arg-type]
