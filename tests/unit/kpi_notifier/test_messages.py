import json
from pathlib import Path
from typing import Any

import pytest
from kpi_notifier.messages import Messages, number

EXAMPLE = (
    Path(__file__).resolve().parents[3]
    / "libs/kpi-common/src/kpi_common/examples/kpi.breach.opened.v1.json"
)


def context(kind: str = "breach", **extra: Any) -> dict[str, Any]:
    facts = json.loads(EXAMPLE.read_text())[0]["data"]
    return {
        "kind": kind,
        "breach": facts,
        "recipient_name": "Dana Ortiz",
        "owner_name": "Dana Ortiz",
        "owner_slack": "U123",
        **extra,
    }


def test_breach_email_carries_the_numbers_and_the_so_that_chain() -> None:
    m = Messages().render("breach", context())
    assert m.subject == "Critical: New client acquisitions is off track (2026-Q1)"
    for line in ("Actual:   12 clients", "Target:   50 clients", "Expected: 27.8 clients",
                 "Forecast: 21.6 clients"):  # fmt: skip
        assert line in m.text
    chain = (
        "This KPI matters so that a pipeline strong enough to close 50 new clients a quarter, "
        "so that acquire 50 new clients each quarter, "
        "so that increase revenue by 20% this fiscal year."
    )
    assert chain in m.text
    assert chain in m.html
    assert "kpi ack brc-new-clients-2026-Q1-1" in m.text
    assert "<@U123>" in m.slack


def test_html_is_escaped() -> None:
    ctx = context()
    ctx["breach"] = {**ctx["breach"], "kpi_title": "<script>x</script>"}
    assert "<script>" not in Messages().render("breach", ctx).html


@pytest.mark.parametrize(
    ("kind", "subject"),
    [
        ("resolved", "Resolved: New client acquisitions"),
        ("reminder", "Reminder: New client acquisitions is still off track"),
        ("escalation", "Escalated: New client acquisitions is off track, unacknowledged"),
    ],
)
def test_each_breach_kind_has_its_own_wording(kind: str, subject: str) -> None:
    assert Messages().render(kind, context(kind, reminder=2)).subject == subject


def test_review_and_test_messages_render() -> None:
    review = {
        "id": "qbr",
        "title": "QBR",
        "cadence": "quarterly",
        "unit": "acme",
        "due": "2026-03-31",
    }
    m = Messages().render("review", {"kind": "review", "notice": "overdue", "review": review,
                                     "recipient_name": "Morgan"})  # fmt: skip
    assert m.subject == "Overdue: QBR was due 2026-03-31 and is not recorded as held"
    assert "pack" not in m.text  # no web view configured: no link
    t = Messages().render("test", {"kind": "test", "note": "hi", "recipient_name": "x"})
    assert "test notification from kpi-cascade: hi" in t.text


def test_a_review_reminder_links_the_review_s_pack_in_the_web_view() -> None:
    review = {"id": "qbr", "title": "QBR", "cadence": "quarterly", "unit": "acme",
              "due": "2026-03-31"}  # fmt: skip
    context = {"kind": "review", "notice": "before-7d", "review": review, "recipient_name": "M"}
    m = Messages(web_url="https://kpi.example.com/").render("review", context)
    assert "PDF: https://kpi.example.com/reviews/qbr/pack.pdf" in m.text
    assert 'href="https://kpi.example.com/reviews/qbr/pack"' in m.html


@pytest.mark.parametrize(
    ("value", "text"), [(12, "12"), (27.8, "27.8"), (1234567.0, "1,234,567"), (0.1234, "0.123"),
                        (None, "n/a")],
)  # fmt: skip
def test_numbers_read_well(value: float | None, text: str) -> None:
    assert number(value) == text


def test_a_digest_lists_every_breach_with_its_reason() -> None:
    one = context()["breach"]
    two = {**one, "breach_id": "brc-2", "kpi_title": "Qualified leads", "unit_of_measure": "leads"}
    m = Messages().render("digest", {"kind": "digest", "breaches": [one, two],
                                     "recipient_name": "Dana Ortiz"})  # fmt: skip
    assert m.subject == "2 KPIs need your attention"
    assert "* New client acquisitions is off track for 2026-Q1 (critical)." in m.text
    assert "* Qualified leads is off track" in m.text
    assert m.text.count("This KPI matters so that") == 2
    assert "kpi ack brc-2" in m.text
