"""The current period's pace chart: time across the period, the target as a level, "now" as
a rule; the actual at now (with its status's shape), the expected value by now joined to the
target at the period's end (the pace), and the actual joined to the forecast at the end.
Only the evaluator's figures are drawn: no curve between them is invented."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kpi_web.models import Point
from kpi_web.pages.chart import Tick, nice_ticks
from kpi_web.status import Look, look

WIDTH, HEIGHT = 900, 260
LEFT, RIGHT, TOP, BOTTOM = 70, 120, 16, 40


@dataclass(frozen=True)
class Pace:
    width: int
    height: int
    left: int
    right: float
    bottom: float
    ticks: list[Tick]
    now_x: float
    target_y: float | None
    expected: str  # SVG path data, empty when unknown
    forecast: str
    forecast_y: float | None  # where its label goes: beside the line's end, clear of the target's
    actual: tuple[float, float] | None
    look: Look
    start: str
    end: str


def build(point: Point, now: datetime) -> Pace:
    start = datetime.fromisoformat(point.period_start)
    end = datetime.fromisoformat(point.period_end)
    span = (end - start).total_seconds() or 1.0
    elapsed = min(max((now - start).total_seconds() / span, 0.0), 1.0)
    values = [
        v for v in (point.actual, point.target, point.expected, point.forecast) if v is not None
    ]
    ticks = nice_ticks(min(0.0, *values), max(values)) if values else [0.0, 1.0]
    low, high = ticks[0], ticks[-1]

    def y_of(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (v - low) / (high - low))

    x_now, x_end = LEFT + (WIDTH - LEFT - RIGHT) * elapsed, float(WIDTH - RIGHT)
    return Pace(
        WIDTH, HEIGHT, LEFT, x_end, HEIGHT - BOTTOM, [Tick(t, y_of(t)) for t in ticks], x_now,
        y_of(point.target) if point.target is not None else None,
        _segment(x_now, point.expected, x_end, point.target, y_of),
        _segment(x_now, point.actual, x_end, point.forecast, y_of),
        _label_y(point.forecast, point.target, y_of),
        (x_now, y_of(point.actual)) if point.actual is not None else None,
        look(point.status), f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}",
    )  # fmt: skip


def _segment(
    x1: float, v1: float | None, x2: float, v2: float | None, y_of: Callable[[float], float]
) -> str:
    if v1 is None or v2 is None:
        return ""
    return f"M{x1:.1f},{y_of(v1):.1f} L{x2:.1f},{y_of(v2):.1f}"


def _label_y(
    value: float | None, target: float | None, y_of: Callable[[float], float]
) -> float | None:
    """The forecast label's height: at its value, moved 12 px off the target's label when the
    two would overlap."""
    if value is None:
        return None
    y = y_of(value)
    if target is None or abs(y - y_of(target)) >= 12:
        return y
    return y_of(target) + (12 if y >= y_of(target) else -12)
