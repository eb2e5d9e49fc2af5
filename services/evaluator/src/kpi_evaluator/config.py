"""The evaluator service's settings: the shared ones plus its own, read once."""

from kpi_common.settings import ServiceSettings
from pydantic import Field

SERVICE = "evaluator"
SCHEMA = "evaluator"


class Settings(ServiceSettings):
    port: int = Field(default=8003, validation_alias="KPI_EVALUATOR_PORT")
