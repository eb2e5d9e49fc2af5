"""What arrived per metric name (pure): each batch's fresh events tallied per (tenant,
metric), stored in bulk by `arrivals_repo`, read by data health (`data_health`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kpi_evaluator.folding import Observation

ArrivalKey = tuple[str, str]  # tenant, metric


@dataclass(frozen=True)
class Arrival:
    """Events of one metric name of a tenant: how many, first and last received, and the
    source the last one came from (None: not known, it arrived before this was kept)."""

    metric: str
    events: int
    first_received_at: datetime
    last_received_at: datetime
    last_source_id: str | None


class _Acc:
    """A mutable arrival while a batch is tallied (the hot loop avoids new objects)."""

    __slots__ = ("events", "first", "last", "source")

    def __init__(self, at: datetime, source: str) -> None:
        self.events, self.first, self.last, self.source = 1, at, at, source

    def add(self, at: datetime, source: str) -> None:
        self.events += 1
        if at < self.first:
            self.first = at
        if at >= self.last:
            self.last, self.source = at, source


def tally(observations: Iterable[Observation]) -> dict[ArrivalKey, Arrival]:
    """One arrival per (tenant, metric) of the observations."""
    acc: dict[ArrivalKey, _Acc] = {}
    for o in observations:
        found = acc.get((o.tenant_id, o.metric))
        if found is None:
            acc[(o.tenant_id, o.metric)] = _Acc(o.received_at, o.source_id)
        else:
            found.add(o.received_at, o.source_id)
    return {k: Arrival(k[1], a.events, a.first, a.last, a.source) for k, a in acc.items()}
