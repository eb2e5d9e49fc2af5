"""The notifier service's settings: the shared ones plus its own, read once."""

from kpi_common.settings import ServiceSettings
from pydantic import Field

SERVICE = "notifier"
SCHEMA = "notifier"


class Settings(ServiceSettings):
    port: int = Field(default=8004, validation_alias="KPI_NOTIFIER_PORT")
