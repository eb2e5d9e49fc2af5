"""Turn valid events into `metric.observed` envelopes for metrics.events (pure).

The envelope is built with `model_construct`: every field was already checked by
`kpi_ingest.events` (stricter than the `MetricObserved` model), and this is the hot path.
Unit tests decode the result with `kpi_common.events.decode` to hold it to the contract."""

from collections.abc import Iterable
from datetime import datetime

from kpi_common.events import Envelope
from kpi_common.kafka import Outgoing

from kpi_ingest.config import SERVICE
from kpi_ingest.events import Event


def observed(
    events: Iterable[Event], *, tenant_id: str, source_id: str, received_at: datetime, topic: str
) -> list[Outgoing]:
    received = received_at.isoformat()
    return [
        Outgoing(
            topic,
            f"{tenant_id}:{e.metric}",
            Envelope.model_construct(
                id=e.id,
                type="metric.observed",
                version=1,
                tenant_id=tenant_id,
                time=received_at,
                producer=SERVICE,
                data={
                    "metric": e.metric,
                    "value": e.value,
                    "time": e.time.isoformat(),
                    "dimensions": e.dimensions,
                    "source_id": source_id,
                    "received_at": received,
                },
            ),
        )
        for e in events
    ]
