from kpi_common.db import configure_alembic_env
from kpi_ingest.models import metadata

configure_alembic_env(metadata)
