"""Data gathering: what each page needs, read concurrently from the owning services with
the viewer's own key, and parsed into the models of `kpi_web.models`.

A page renderer takes one of these bundles and nothing else, so a new page (or the review
pack) adds a bundle here and a renderer in `pages/`.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from kpi_web.models import KpiHistory, Scorecard, Series, Strategy
from kpi_web.upstream import NotFound, Upstream

# The KPI page's chart covers this much time before now, and this much after (forecasts).
SERIES_BACK = timedelta(days=3 * 366)
SERIES_AHEAD = timedelta(days=366)


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
    strategy: Strategy
    scorecard: Scorecard
    series: Series
    history: KpiHistory
    kpi_id: str


class Gather:
    def __init__(self, upstream: Upstream) -> None:
        self._up = upstream

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

    async def kpi(self, key: str, kpi_id: str, now: datetime | None = None) -> KpiData:
        now = now or datetime.now(UTC)
        window = {
            "from": (now - SERIES_BACK).isoformat(),
            "to": (now + SERIES_AHEAD).isoformat(),
        }
        path = f"/v1/kpis/{_segment(kpi_id)}"
        strategy, scorecard, series, history = await asyncio.gather(
            self.strategy(key),
            self.scorecard(key),
            self._up.get("evaluator", f"{path}/series", key, window),
            self._up.get("goals", f"{path}/history", key),
        )
        if strategy.kpi(kpi_id) is None:
            raise NotFound(f"KPI {kpi_id} not found")
        parsed = Series.model_validate(series), KpiHistory.model_validate(history)
        return KpiData(strategy, scorecard, *parsed, kpi_id)


def _segment(value: str) -> str:
    """`value` as one URL path segment (an id never reaches another route)."""
    return quote(value, safe="")
