"""The target of a KPI for one period, as the contract states it (no arithmetic here).

Goals publishes every KPI's targets resolved (docs/events.md, "The KPI contract"): a
period's target is `targets.for_period(key)`; a `range` KPI's is its band, in every period.
"""

from dataclasses import dataclass

from kpi_common.definitions import Direction

from kpi_evaluator.definitions import KpiDef


@dataclass(frozen=True)
class Target:
    value: float | None = None
    low: float | None = None
    high: float | None = None

    @property
    def is_range(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def headline(self) -> float | None:
        """One number to show: the value, or a range's midpoint."""
        if self.is_range:
            assert self.low is not None
            assert self.high is not None
            return (self.low + self.high) / 2
        return self.value


def target_for(kpi: KpiDef, period_key: str) -> Target | None:
    """The KPI's target in that period; None when the contract gives it none there."""
    if kpi.direction is Direction.RANGE:
        band = kpi.targets.band
        return None if band is None else Target(low=band.low, high=band.high)
    value = kpi.targets.for_period(period_key)
    return None if value is None else Target(value=value)
