"""The review pack's data: everything the pack of one review shows, read concurrently with
the viewer's own key from the services that own it.

The review (its unit, the date due and what it looks back to) is the notifier's; the unit's
scorecard, each KPI's series and the data-health findings are the evaluator's; the strategy,
the KPIs' target histories, the "so that" chains of the KPIs it sets out and the alignment
findings are goals'. One read each, for all the KPIs.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kpi_web.gather import Gather, breach_ids
from kpi_web.models import (
    Breach,
    Finding,
    Findings,
    KpiChains,
    KpiHistory,
    KpiLeaf,
    ManyKpiChains,
    ManyKpiHistories,
    ManySeries,
    Review,
    Scorecard,
    Series,
    Strategy,
)
from kpi_web.upstream import NotFound, Unavailable, Upstream

# Each KPI's series reaches this far back before what the review looks back to (the chart).
LOOK_BACK = timedelta(days=366)
ATTENTION = ("off_track", "at_risk")  # the statuses the pack sets out one by one


@dataclass(frozen=True)
class KpiFile:
    """One KPI of the review's unit, with what the pack says about it."""

    leaf: KpiLeaf
    series: Series
    history: KpiHistory


@dataclass(frozen=True)
class PackData:
    review: Review
    strategy: Strategy
    scorecard: Scorecard
    kpis: list[KpiFile]
    chains: dict[str, KpiChains]  # of the KPIs set out (`ATTENTION`), by KPI id
    breaches: list[tuple[str, Breach]]  # (KPI id, breach), those the notifier knows
    alignment: list[Finding]
    data_health: list[Finding]
    now: datetime
    missing: list[str]  # what could not be read (a service away), said in the pack


class Packs:
    def __init__(self, gather: Gather, upstream: Upstream) -> None:
        self._g, self._up = gather, upstream

    async def pack(self, key: str, review_id: str) -> PackData:
        now = self._g.now()
        review, strategy = await asyncio.gather(self.review(key, review_id), self._g.strategy(key))
        missing: list[str] = []
        scorecard, alignment, health = await asyncio.gather(
            self._g.scorecard(key, review.unit),
            self._findings(key, "goals", "/v1/alignment", missing),
            self._findings(key, "evaluator", "/v1/data-health", missing),
        )
        since = datetime.fromisoformat(review.since).replace(tzinfo=UTC)
        leaves, window = scorecard.kpis, since - LOOK_BACK
        kpi_ids = [leaf.id for leaf in leaves]
        series, histories, chains = await asyncio.gather(
            self._series(key, kpi_ids, window, now),
            self._histories(key, kpi_ids),
            self._chains(key, [leaf.id for leaf in leaves if leaf.status in ATTENTION]),
        )
        files = [KpiFile(leaf, series[leaf.id], histories[leaf.id]) for leaf in leaves]
        breaches = await self._breaches(key, files)
        ids = {leaf.id for leaf in scorecard.kpis} | _unit_nodes(strategy, review.unit)
        return PackData(
            review,
            strategy,
            scorecard,
            files,
            chains,
            breaches,
            [f for f in alignment if f.node_id in ids],
            [f for f in health if f.node_id in ids or ids.intersection(f.kpis)],
            now,
            missing,
        )

    async def reviews(self, key: str) -> list[Review]:
        answer = await self._up.get("notifier", "/v1/reviews", key)
        return [Review.model_validate(r) for r in answer]

    async def review(self, key: str, review_id: str) -> Review:
        found = [r for r in await self.reviews(key) if r.review_id == review_id]
        if not found:
            raise NotFound(f"review {review_id} not found")
        return found[0]

    async def _series(
        self, key: str, kpi_ids: list[str], start: datetime, now: datetime
    ) -> dict[str, Series]:
        if not kpi_ids:
            return {}
        window = {"from": start.isoformat(), "to": (now + timedelta(days=366)).isoformat()}
        answer = await self._up.get("evaluator", "/v1/series", key, {**window, "kpi": kpi_ids})
        return {s.kpi_id: s for s in ManySeries.model_validate(answer).kpis}

    async def _histories(self, key: str, kpi_ids: list[str]) -> dict[str, KpiHistory]:
        if not kpi_ids:
            return {}
        answer = await self._up.get("goals", "/v1/history", key, {"kpi": kpi_ids})
        return {h.kpi_id: h for h in ManyKpiHistories.model_validate(answer).kpis}

    async def _chains(self, key: str, kpi_ids: list[str]) -> dict[str, KpiChains]:
        if not kpi_ids:
            return {}
        answer = await self._up.get("goals", "/v1/cascade/chains", key, {"kpi": kpi_ids})
        return {c.kpi_id: c for c in ManyKpiChains.model_validate(answer).kpis}

    async def _breaches(self, key: str, files: list[KpiFile]) -> list[tuple[str, Breach]]:
        """The breaches each KPI's series names, the notifier's record of them in one read."""
        wanted = {f.leaf.id: breach_ids(f.series) for f in files}
        found = await self._g.breaches_by_id(key, [i for ids in wanted.values() for i in ids])
        return [(kpi, found[i]) for kpi, ids in wanted.items() for i in ids if i in found]

    async def _findings(
        self, key: str, service: str, path: str, missing: list[str]
    ) -> list[Finding]:
        """A service that is away leaves its section empty, and the pack says so."""
        try:
            return Findings.model_validate(await self._up.get(service, path, key)).findings
        except Unavailable as exc:
            missing.append(f"{path}: {exc.message}")
            return []


def _unit_nodes(strategy: Strategy, unit: str | None) -> set[str]:
    """The ids of the unit's subtree and of the goals, objectives and success factors in it
    (every unit and aim when the review has no unit)."""
    units = {u.id for u in strategy.units}
    if unit is not None:
        units = {unit}
        while grown := {u.id for u in strategy.units if u.parent in units} - units:
            units |= grown
    aims = [*strategy.goals, *strategy.objectives, *strategy.success_factors]
    return units | {a.id for a in aims if unit is None or a.unit in units}
