"""Turn valid events into encoded `metric.observed` envelopes for metrics.events (pure).

The JSON is built directly (no pydantic model, no model_dump): every field was already
checked by `kpi_ingest.events` (stricter than the `MetricObserved` model), and this is the
hot path. Unit tests decode the result with `kpi_common.events.decode` to hold it to the
contract."""

from collections.abc import Iterable
from datetime import datetime

import orjson
from kpi_common.kafka import Record

from kpi_ingest.config import SERVICE
from kpi_ingest.events import Event


def observed(
    events: Iterable[Event], *, tenant_id: str, source_id: str, received_at: datetime, topic: str
) -> list[Record]:
    received = received_at.isoformat()
    return [
        Record(
            topic,
            f"{tenant_id}:{e.metric}".encode(),
            orjson.dumps(
                {
                    "id": e.id,
                    "type": "metric.observed",
                    "version": 1,
                    "tenant_id": tenant_id,
                    "time": received,
                    "producer": SERVICE,
                    "data": {
                        "metric": e.metric,
                        "value": e.value,
                        "time": e.time.isoformat(),
                        "dimensions": e.dimensions,
                        "source_id": source_id,
                        "received_at": received,
                    },
                }
            ),
        )
        for e in events
    ]
