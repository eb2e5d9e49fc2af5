from kpi_common.db import configure_alembic_env
from kpi_goals.models import metadata

configure_alembic_env(metadata)
