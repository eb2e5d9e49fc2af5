"""Seeded, realistic metric traffic for any strategy document: `kpi simulate`, the demo and
the benchmarks use it.

For every KPI measured from metrics, events are generated from the start of the KPI's
current period up to `now`, at a pace that lands the KPI near `performance` times its
expected-to-date value. Performance is drawn per KPI from the seed, and a few KPIs are
*planted*: far behind (a breach), slightly behind (at risk), ahead (achieved), silent (no
data), or stale (on pace, but its feed stopped `STALE_DAYS` before `now`). The same seed,
strategy, targets and `now` give the same events, byte for byte.

Each period and its target come from `targets` (`PeriodTarget`: what goals answers to
`GET /v1/kpis/{id}/targets?at=`, kpi_cli.targets): this module keeps no target arithmetic
and no fiscal calendar of its own. The document gives the measures and directions only.
"""

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kpi_common.calendar import Bucket

Event = dict[str, Any]

# the share of the expected-to-date value each planted KPI reaches; `achieved` reaches
# that share of the whole period's target already
PLANTS: dict[str, float] = {
    "breach": 0.45,
    "at_risk": 0.94,
    "ahead": 1.35,
    "achieved": 1.08,
    "silent": 0.0,
    "stale": 1.05,
}
STALE_DAYS = 4
LIVE_S = 6 * 3600  # the newest event of a live feed is at most this old


@dataclass(frozen=True)
class KpiPlan:
    kpi_id: str
    performance: float
    plant: str | None


@dataclass(frozen=True)
class PeriodTarget:
    """One period of a KPI on the tenant's fiscal calendar and its target there: the `at`
    object of goals' `GET /v1/kpis/{id}/targets?at=` (docs/goals.md)."""

    bucket: Bucket
    target: float | None
    band: tuple[float, float] | None = None

    @classmethod
    def parse(cls, at: dict[str, Any]) -> "PeriodTarget":
        start, end = datetime.fromisoformat(at["start"]), datetime.fromisoformat(at["end"])
        band, target = at.get("band"), at.get("target")
        return cls(
            Bucket(str(at["period"]), start, end),
            None if target is None else float(target),
            None if band is None else (float(band["low"]), float(band["high"])),
        )

    @property
    def aim(self) -> float | None:
        """What the traffic is sized from: the target, or the middle of a range KPI's band;
        None when the period has neither (no events then)."""
        return self.target if self.band is None else (self.band[0] + self.band[1]) / 2


# (kpi id, an instant) -> the KPI's period containing that instant and its target
Targets = Callable[[str, datetime], PeriodTarget]


@dataclass
class Simulation:
    doc: dict[str, Any]
    now: datetime
    targets: Targets
    seed: int = 42
    plants: dict[str, str] = field(default_factory=dict)  # kpi id -> plant name
    since: datetime | None = None  # also simulate the KPI's earlier periods from here on

    def plan(self) -> list[KpiPlan]:
        rng = random.Random(f"{self.seed}:plan")
        out = []
        for kpi in self.doc.get("kpis", []):
            plant = self.plants.get(kpi["id"])
            perf = PLANTS[plant] if plant else rng.uniform(1.0, 1.12)
            out.append(KpiPlan(kpi["id"], perf, plant))
        return out

    def events(self) -> list[Event]:
        """Every event, ordered by time (ties by id)."""
        plans = {p.kpi_id: p for p in self.plan()}
        covered = _metrics_with_filtered_kpis(self.doc)
        out: list[Event] = []
        for kpi in self.doc.get("kpis", []):
            if _skip(kpi, covered):
                continue
            out.extend(self._kpi_events(kpi, plans[kpi["id"]]))
        out.sort(key=lambda e: (e["time"], e["id"]))
        return out

    def _kpi_events(self, kpi: dict[str, Any], plan: KpiPlan) -> Iterator[Event]:
        if plan.performance == 0:
            return
        current = self.targets(kpi["id"], self.now)
        start = current.bucket.start
        elapsed = 1.0 if plan.plant == "achieved" else current.bucket.fraction_elapsed(self.now)
        rng = random.Random(f"{self.seed}:{kpi['id']}")
        stop = self.now - timedelta(days=STALE_DAYS) if plan.plant == "stale" else self.now
        gen = _Generator(kpi, plan.performance, start, stop, elapsed, rng, self.seed)
        yield from gen.run(current.aim)
        yield from self._history(kpi, start)

    def _history(self, kpi: dict[str, Any], start: datetime) -> Iterator[Event]:
        """Earlier whole periods from `since` on, each at 100-110 % of its target."""
        rng = random.Random(f"{self.seed}:{kpi['id']}:history")
        while self.since is not None and start > self.since:
            earlier = self.targets(kpi["id"], start - timedelta(seconds=1))
            start, end = earlier.bucket.start, earlier.bucket.end
            if start < self.since:
                return
            tag = f"-{start:%Y%m%d}"
            gen = _Generator(kpi, rng.uniform(1.0, 1.1), start, end, 1.0, rng, self.seed, tag)
            yield from gen.run(earlier.aim)


def _metrics_with_filtered_kpis(doc: dict[str, Any]) -> set[str]:
    """Metrics for which some KPI has a `where`: their unfiltered KPIs are fed by those."""
    return {
        k["measure"]["metric"]
        for k in doc.get("kpis", [])
        if "metric" in k.get("measure", {}) and k["measure"].get("where")
    }


def _skip(kpi: dict[str, Any], covered: set[str]) -> bool:
    measure = kpi.get("measure", {})
    if "formula" in measure:
        return True
    return "metric" in measure and not measure.get("where") and measure["metric"] in covered


@dataclass
class _Generator:
    """Events for one KPI: count, sum, avg, last and ratio measures."""

    kpi: dict[str, Any]
    performance: float
    start: datetime
    end: datetime
    elapsed: float
    rng: random.Random
    seed: int
    tag: str = ""  # tells apart the ids of an earlier period's events

    def run(self, target: float | None) -> Iterator[Event]:
        if target is None:
            return
        m = self.kpi["measure"]
        decrease = self.kpi.get("direction") == "decrease"
        # for a decrease KPI, doing better means a lower value: invert the performance
        perf = 1 / self.performance if decrease and self.performance else self.performance
        if "ratio" in m:
            yield from self._ratio(m["ratio"], target * perf)
        elif m.get("aggregation") in ("avg", "last", "min", "max"):
            yield from self._level(m, target * perf)
        else:
            yield from self._amount(m, target * perf * self.elapsed)

    def _times(self, n: int) -> list[datetime]:
        """n times in [start, end), the last within the final hours: the feed is live."""
        span = (self.end - self.start).total_seconds()
        offsets = [self._office_hours(span) for _ in range(n)]
        if offsets:
            offsets[-1] = max(0.0, span - self.rng.uniform(60, LIVE_S))
        return sorted(self.start + timedelta(seconds=s) for s in offsets)

    def _office_hours(self, span: float) -> float:
        """Seasonality: business happens mostly on weekdays, between 8:00 and 18:00."""
        while True:
            offset = self.rng.uniform(0, span)
            t = self.start + timedelta(seconds=offset)
            busy = t.weekday() < 5 and 8 <= t.hour < 18
            if busy or self.rng.random() < 0.15:
                return offset

    def _event(self, metric: str, value: float, t: datetime, dims: dict[str, Any], i: int) -> Event:
        return {
            "id": f"sim-{self.seed}{self.tag}-{self.kpi['id']}-{metric}-{i}",
            "metric": metric,
            "value": round(value, 2),
            "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dimensions": dims,
        }

    def _amount(self, m: dict[str, Any], total: float) -> Iterator[Event]:
        dims = dict(m.get("where", {}))
        if m.get("aggregation") == "count":
            for i, t in enumerate(self._times(max(0, round(total)))):
                yield self._event(m["metric"], 1, t, dims, i)
            return
        n = max(1, min(2000, round(total / _typical_amount(total))))
        weights = [self.rng.uniform(0.5, 1.5) for _ in range(n)]
        scale = total / sum(weights)
        for i, (t, w) in enumerate(zip(self._times(n), weights, strict=True)):
            yield self._event(m["metric"], w * scale, t, _with_field(dims, m, w * scale), i)

    def _level(self, m: dict[str, Any], level: float) -> Iterator[Event]:
        dims = dict(m.get("where", {}))
        n = 1 if m.get("aggregation") == "last" else max(20, round(60 * self.elapsed))
        spread = max(abs(level) * 0.08, 0.05)
        values = [self.rng.gauss(level, spread) for _ in range(n)]
        shift = level - sum(values) / n
        for i, (t, v) in enumerate(zip(self._times(n), values, strict=True)):
            value = v + shift
            yield self._event(m["metric"], value, t, _with_field(dims, m, value), i)

    def _ratio(self, r: dict[str, Any], ratio: float) -> Iterator[Event]:
        num, den = r["numerator"], r["denominator"]
        if num["metric"] == den["metric"]:
            yield from self._split(num, den, ratio)
            return
        base = 400.0 if den.get("aggregation") == "last" else 1000.0
        yield from self._level({**den, "aggregation": "last"}, base)
        # a feed's losses (sum, count) accumulate through the period while the population
        # (last, avg) is a level: to date, only the elapsed share of the period's losses
        paced = num.get("aggregation") in ("sum", "count") and den.get("aggregation") != "count"
        share = self.elapsed if paced else 1.0
        yield from self._amount({**num, "aggregation": "count"}, base * ratio * share)

    def _split(self, num: dict[str, Any], den: dict[str, Any], ratio: float) -> Iterator[Event]:
        """One metric, some events matching the numerator's filter: e.g. bounced sessions."""
        n = max(50, round(3000 * self.elapsed))
        flag, value = next(iter(num.get("where", {}).items()), ("flag", True))
        hits = round(n * min(max(ratio, 0.0), 1.0))
        chosen = set(self.rng.sample(range(n), hits))
        for i, t in enumerate(self._times(n)):
            dims = {**den.get("where", {}), flag: value if i in chosen else _other(value)}
            yield self._event(num["metric"], 1, t, dims, i)


def _other(value: Any) -> Any:
    return (not value) if isinstance(value, bool) else f"not-{value}"


def _with_field(dims: dict[str, Any], m: dict[str, Any], value: float) -> dict[str, Any]:
    field_name = m.get("field")
    if field_name and field_name != "value":
        return {**dims, field_name: round(value, 2)}
    return dims


def _typical_amount(total: float) -> float:
    """Size of one business fact: invoices of ~20k for a 10M total, ~1 for small counts."""
    exponent = max(0, math.floor(math.log10(max(total, 1.0))) - 2)
    return max(1.0, 10.0**exponent)
