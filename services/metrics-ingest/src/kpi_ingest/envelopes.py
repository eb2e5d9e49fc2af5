"""Turn valid events into `metric.observed` envelopes for metrics.events (pure).

The JSON is built straight from the checked event with orjson, without an `Envelope` model:
every field was already checked by `kpi_ingest.events` (stricter than the `MetricObserved`
model), and on this hot path building and dumping the model cost more than the rest of an
event's work. The bytes are the ones `kpi_common.events.encode` gives for the same envelope
(unit tests decode them with `decode` and compare with `encode` of the result)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from kpi_common.kafka import Encoded

from kpi_ingest.config import SERVICE
from kpi_ingest.events import Event


def observed(
    events: Iterable[Event], *, tenant_id: str, source_id: str, received_at: datetime, topic: str
) -> list[Encoded]:
    received = received_at.isoformat()
    return [
        Encoded(
            topic,
            f"{tenant_id}:{e.metric}",
            _dumps(
                {
                    "id": e.id,
                    "type": "metric.observed",
                    "version": 1,
                    "tenant_id": tenant_id,
                    "time": received_at,
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


def _dumps(envelope: dict[str, Any]) -> bytes:
    """orjson writes UTC times with `Z`, as pydantic does in `encode`."""
    return orjson.dumps(envelope, option=orjson.OPT_UTC_Z)
