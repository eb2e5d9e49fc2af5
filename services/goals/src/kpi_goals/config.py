"""The goals service's settings: the shared ones plus its own, read once."""

from kpi_common.settings import ServiceSettings
from pydantic import Field

SERVICE = "goals"
SCHEMA = "goals"


class Settings(ServiceSettings):
    port: int = Field(default=8001, validation_alias="KPI_GOALS_PORT")
