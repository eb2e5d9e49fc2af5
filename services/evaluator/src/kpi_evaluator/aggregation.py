"""Incremental aggregation state of one measure in one period bucket.

Every aggregation keeps the same small state (count, sum, min, max, and the last value by
event time, ties broken by event id), so states merge in any order: a batch is folded into
one delta per bucket in memory and merged into the stored state with one upsert.
`avg` is sum/count; `last` is the value of the event with the latest event time.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AggState:
    count: int
    total: float
    min: float
    max: float
    last_value: float
    last_time: datetime
    last_id: str

    @classmethod
    def of(cls, value: float, at: datetime, event_id: str) -> "AggState":
        return cls(1, value, value, value, value, at, event_id)

    def merge(self, other: "AggState") -> "AggState":
        later = (other.last_time, other.last_id) > (self.last_time, self.last_id)
        last = other if later else self
        return AggState(
            self.count + other.count,
            self.total + other.total,
            min(self.min, other.min),
            max(self.max, other.max),
            last.last_value,
            last.last_time,
            last.last_id,
        )

    def value(self, aggregation: str) -> float | None:
        if self.count == 0:
            return None
        if aggregation == "sum":
            return self.total
        if aggregation == "count":
            return float(self.count)
        if aggregation == "avg":
            return self.total / self.count
        if aggregation == "min":
            return self.min
        if aggregation == "max":
            return self.max
        if aggregation == "last":
            return self.last_value
        raise ValueError(f"unknown aggregation {aggregation!r}")


def merge_all(states: list[AggState]) -> AggState | None:
    """One state from many (the day buckets of a rolling window); None when empty."""
    if not states:
        return None
    out = states[0]
    for s in states[1:]:
        out = out.merge(s)
    return out
