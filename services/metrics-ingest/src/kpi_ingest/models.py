"""Tables of the metrics-ingest service, all in the `ingest` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table

from kpi_ingest.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
