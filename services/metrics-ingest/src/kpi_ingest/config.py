"""The metrics-ingest service's settings: the shared ones plus its own, read once."""

from kpi_common.settings import ServiceSettings
from pydantic import Field

SERVICE = "metrics-ingest"
SCHEMA = "ingest"


class Settings(ServiceSettings):
    port: int = Field(default=8002, validation_alias="KPI_INGEST_PORT")
