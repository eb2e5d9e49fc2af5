"""Tables of the goals service, all in the `goals` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table

from kpi_goals.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
