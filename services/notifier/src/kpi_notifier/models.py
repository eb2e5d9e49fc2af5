"""Tables of the notifier service, all in the `notifier` Postgres schema."""

from kpi_common.db import service_metadata
from kpi_common.outbox import outbox_table

from kpi_notifier.config import SCHEMA

metadata = service_metadata(SCHEMA)
outbox = outbox_table(metadata)
