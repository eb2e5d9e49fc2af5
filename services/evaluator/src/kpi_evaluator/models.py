"""Tables of the evaluator service, all in the `evaluator` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table

from kpi_evaluator.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
