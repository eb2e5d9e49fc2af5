"""The web view's pure parts: chart ticks and geometry, the status looks, the session store,
where sign-in may send to, and that the app publishes no OpenAPI document or docs page."""

from datetime import UTC, datetime

import httpx
import pytest
from kpi_web.auth import local_path
from kpi_web.models import Point
from kpi_web.pages.chart import build, nice_ticks
from kpi_web.pages.common import lines
from kpi_web.pages.pace import build as build_pace
from kpi_web.sessions import Sessions
from kpi_web.status import LOOKS, look, worst


def test_ticks_are_round_and_cover_the_values() -> None:
    assert nice_ticks(0, 47) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(0, 1_150_000) == [0, 250_000, 500_000, 750_000, 1_000_000, 1_250_000]
    ticks = nice_ticks(-3, 0.5)
    assert ticks[0] <= -3
    assert ticks[-1] >= 0.5
    assert nice_ticks(5, 5)[-1] > 5  # a flat series still gets a range


def point(period: str, actual: float | None, status: str) -> Point:
    return Point.model_validate(
        {"period": period, "period_start": "2026-01-01T00:00:00Z",
         "period_end": "2026-04-01T00:00:00Z", "actual": actual, "target": 50.0,
         "expected": 40.0, "forecast": None, "status": status, "score": None,
         "evaluated_at": "2026-03-01T00:00:00Z"}
    )  # fmt: skip


def test_the_chart_marks_each_actual_with_its_status_and_skips_gaps() -> None:
    chart = build(
        [point("Q1", 10, "off_track"), point("Q2", None, "no_data"), point("Q3", 60, "achieved")]
    )
    assert [(m.period, m.look.status) for m in chart.marks] == [
        ("Q1", "off_track"),
        ("Q3", "achieved"),
    ]
    actual = next(line for line in chart.lines if line.name == "actual")
    assert actual.d.count("M") == 2  # the gap in Q2 breaks the line
    forecast = next(line for line in chart.lines if line.name == "forecast")
    assert forecast.d == ""
    top = min(t.y for t in chart.ticks)
    assert all(top <= m.y <= chart.bottom for m in chart.marks)


def test_every_status_has_a_word_and_a_shape_of_its_own() -> None:
    assert len({(lk.label, lk.path) for lk in LOOKS.values()}) == len(LOOKS)
    assert len({lk.symbol for lk in LOOKS.values()}) == len(LOOKS)
    assert look("degraded").label == "Degraded"  # a status a newer evaluator adds
    assert worst(["on_track", "at_risk", "achieved"]) == "at_risk"
    assert worst([]) == "no_data"


def test_titles_are_cut_with_an_ellipsis() -> None:
    assert lines("short", 10, 2) == ["short"]
    cut = lines("one two three four five six seven", 10, 2)
    assert len(cut) == 2
    assert cut[-1].endswith("…")


def test_sessions_expire_and_are_bounded() -> None:
    now = [0.0]
    sessions = Sessions(ttl_s=10, max_sessions=2, clock=lambda: now[0])
    first = sessions.open("key-1")
    second = sessions.open("key-2")
    assert sessions.key_of(first) == "key-1"
    third = sessions.open("key-3")  # the oldest login goes
    assert sessions.key_of(first) is None
    assert sessions.key_of(third) == "key-3"
    now[0] = 10.0
    assert sessions.key_of(second) is None
    assert sessions.key_of(None) is None
    assert sessions.key_of("made-up") is None


@pytest.mark.parametrize(
    ("target", "goes"),
    [("/kpis/x", "/kpis/x"), ("//evil.example", "/map"), ("/\\evil.example", "/map"),
     ("https://evil.example/", "/map"), (None, "/map"), ("", "/map")],
)  # fmt: skip
def test_sign_in_sends_only_to_a_local_path(target: str | None, goes: str) -> None:
    assert local_path(target) == goes


async def test_no_openapi_document_and_no_docs_page(client: httpx.AsyncClient) -> None:
    """The web view serves HTML only, so tests/unit/test_openapi.py has nothing to check
    here; and Swagger UI would load from a CDN."""
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert (await client.get(path)).status_code == 404


def test_the_pace_chart_draws_only_the_evaluators_figures() -> None:
    current = point("2026-Q1", 20, "at_risk")
    half = build_pace(current, datetime(2026, 2, 15, tzinfo=UTC))
    assert half.left < half.now_x < half.right
    assert half.expected.startswith(f"M{half.now_x:.1f},")  # from now to the target at the end
    assert half.forecast == ""  # no forecast: no line invented
    assert half.look.status == "at_risk"
    late = build_pace(current, datetime(2027, 1, 1, tzinfo=UTC))
    assert late.now_x == late.right  # now past the period's end stays at its end
    near = Point.model_validate({**current.model_dump(), "forecast": 49.9})
    chart = build_pace(near, datetime(2026, 2, 15, tzinfo=UTC))
    assert chart.target_y is not None
    assert chart.forecast_y is not None
    assert abs(chart.forecast_y - chart.target_y) >= 12  # the two labels do not overlap
