"""The KPI chart's geometry: one column per period; the actual as a solid line with each
period's status drawn as its shape, the target dashed, the expected value by now dotted and
the forecast for the period's end dash-dotted. Values on a y axis with round ticks."""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kpi_web.models import Point
from kpi_web.status import Look, look

WIDTH, HEIGHT = 900, 320
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 16, 40
SERIES = ("actual", "target", "expected", "forecast")
LABELS = {"actual": "Actual", "target": "Target", "expected": "Expected by now (pace)",
          "forecast": "Forecast at period end"}  # fmt: skip
Scale = Callable[[float], float]


@dataclass(frozen=True)
class Tick:
    value: float
    y: float


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    look: Look
    period: str
    actual: float


@dataclass(frozen=True)
class Line:
    name: str
    label: str
    d: str  # SVG path data; empty when the series has no value


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom: float
    right: float
    ticks: list[Tick]
    periods: list[tuple[float, str]]  # (x, label)
    lines: list[Line]
    marks: list[Mark]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values from at most `low` to at least `high`, about `count` of them."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    return [start + i * step for i in range(math.ceil((high - start) / step) + 1)]


def _values(points: Sequence[Point]) -> list[float]:
    found = [getattr(p, name) for p in points for name in SERIES]
    return [float(v) for v in found if v is not None]


def build(points: Sequence[Point]) -> Chart:
    values = _values(points) or [0.0, 1.0]
    ticks = nice_ticks(min(0.0, *values), max(values))
    low, high = ticks[0], ticks[-1]
    inner_h = HEIGHT - TOP - BOTTOM
    band = (WIDTH - LEFT - RIGHT) / max(len(points), 1)

    def x_of(i: int) -> float:
        return LEFT + band * (i + 0.5)

    def y_of(v: float) -> float:
        return TOP + inner_h * (1 - (v - low) / (high - low))

    lines = [Line(n, LABELS[n], _path(points, n, x_of, y_of)) for n in SERIES]
    marks = [
        Mark(x_of(i), y_of(p.actual), look(p.status), p.period, p.actual)
        for i, p in enumerate(points)
        if p.actual is not None
    ]
    periods = [(x_of(i), p.period) for i, p in enumerate(points)]
    return Chart(
        WIDTH, HEIGHT, LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT,
        [Tick(t, y_of(t)) for t in ticks], periods, lines, marks,
    )  # fmt: skip


def _path(points: Sequence[Point], name: str, x_of: Callable[[int], float], y_of: Scale) -> str:
    """Segments joining the periods that have a value (a gap breaks the line); each run
    starts with a short level stroke, so a value alone still shows."""
    parts: list[str] = []
    previous = False
    for i, p in enumerate(points):
        value = getattr(p, name)
        if value is None:
            previous = False
            continue
        x, y = x_of(i), y_of(value)
        parts.append(f"{'L' if previous else 'M'}{x:.1f},{y:.1f}")
        if not previous:
            parts.append("m-12,0 l24,0 m-12,0")
        previous = True
    return " ".join(parts)
