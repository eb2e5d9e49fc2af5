"""Data gathering: what each page needs, read concurrently from the owning services with
the viewer's own key, and parsed into the models of `kpi_web.models`.

A page renderer takes one of these bundles and nothing else, so a new page (or the review
pack) adds a bundle here and a renderer in `pages/`.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from kpi_web.models import (
    Breach,
    KpiChains,
    KpiDoc,
    KpiHistory,
    Scorecard,
    Series,
    Strategy,
)
from kpi_web.upstream import Unavailable, Upstream

# The KPI page's chart covers this much time before now, and this much after (forecasts).
SERIES_BACK = timedelta(days=3 * 366)
SERIES_AHEAD = timedelta(days=366)
# The breaches the KPI page asks the notifier about: those of its latest periods.
MAX_BREACHES = 12


@dataclass(frozen=True)
class MapData:
    strategy: Strategy
    scorecard: Scorecard


@dataclass(frozen=True)
class UnitData:
    strategy: Strategy
    scorecard: Scorecard
    unit_id: str


@dataclass(frozen=True)
class KpiData:
    kpi: KpiDoc
    series: Series
    history: KpiHistory
    chains: KpiChains
    breaches: list[Breach]  # those the notifier knows, of the series' latest periods
    now: datetime
    notifier_down: str | None = None  # why the breaches could not be read, if they could not


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


class Gather:
    """`clock` is "now" for the KPI page (its window and its current period): the demo runs
    the services on a clock of its own, and the web view follows it."""

    def __init__(self, upstream: Upstream, clock: Clock = system_clock) -> None:
        self._up = upstream
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def strategy(self, key: str) -> Strategy:
        return Strategy.model_validate(await self._up.get("goals", "/v1/strategy", key))

    async def scorecard(self, key: str, unit: str | None = None) -> Scorecard:
        params = {"unit": unit} if unit else None
        answer = await self._up.get("evaluator", "/v1/scorecard", key, params)
        return Scorecard.model_validate(answer)

    async def map(self, key: str) -> MapData:
        strategy, scorecard = await asyncio.gather(self.strategy(key), self.scorecard(key))
        return MapData(strategy, scorecard)

    async def unit(self, key: str, unit_id: str) -> UnitData:
        strategy, scorecard = await asyncio.gather(self.strategy(key), self.scorecard(key, unit_id))
        return UnitData(strategy, scorecard, unit_id)

    async def kpi(self, key: str, kpi_id: str) -> KpiData:
        """Four reads at once; the breaches (whose ids the series gives) follow the series
        while the others are still under way."""
        path = f"/v1/kpis/{segment(kpi_id)}"
        node, (series, breaches, down), history, chains = await asyncio.gather(
            self._up.get("goals", path, key),
            self._series_and_breaches(key, path),
            self._up.get("goals", f"{path}/history", key),
            self._up.get("goals", "/v1/cascade", key, {"kpi": kpi_id}),
        )
        return KpiData(
            KpiDoc.model_validate(node["definition"]),
            series,
            KpiHistory.model_validate(history),
            KpiChains.model_validate(chains),
            breaches,
            self._clock(),
            down,
        )

    async def _series_and_breaches(
        self, key: str, path: str
    ) -> tuple[Series, list[Breach], str | None]:
        now = self._clock()
        window = {"from": (now - SERIES_BACK).isoformat(), "to": (now + SERIES_AHEAD).isoformat()}
        series = Series.model_validate(
            await self._up.get("evaluator", f"{path}/series", key, window)
        )
        breaches, down = await self._breaches_or_why(key, series)
        return series, breaches, down

    async def _breaches_or_why(self, key: str, series: Series) -> tuple[list[Breach], str | None]:
        """The page still shows the KPI while the notifier is away, saying so."""
        try:
            return await self.breaches(key, series), None
        except Unavailable as exc:
            return [], exc.message

    async def breaches(self, key: str, series: Series) -> list[Breach]:
        """The notifier's record of each breach of the series' latest periods, newest first
        (a breach the notifier has not received yet is left out)."""
        ids = breach_ids(series)
        found = await self.breaches_by_id(key, ids)
        return [found[i] for i in ids if i in found]

    async def breaches_by_id(self, key: str, ids: list[str]) -> dict[str, Breach]:
        """Those of the breaches that the notifier knows, in one read."""
        if not ids:
            return {}
        answer = await self._up.get("notifier", "/v1/breaches", key, {"breach_id": ids})
        found = [Breach.model_validate(b) for b in answer["breaches"]]
        return {b.breach_id: b for b in found}


def breach_ids(series: Series) -> list[str]:
    """The breaches of the series' latest periods (at most `MAX_BREACHES`), newest first."""
    ids = [p.breach_id for p in reversed(series.points) if p.breach_id][:MAX_BREACHES]
    return list(dict.fromkeys(ids))


def segment(value: str) -> str:
    """`value` as one URL path segment (an id never reaches another route)."""
    return quote(value, safe="")
