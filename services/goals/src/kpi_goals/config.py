"""The goals service's settings: the shared ones plus its own, read once.

- `KPI_GOALS_PORT` (8001): HTTP port.
- `KPI_OPERATOR_TOKEN` (unset): the token that may create tenants; unset, nobody can.
- `KPI_GOALS_MAX_KPIS_PER_OBJECTIVE` (7): alignment rule `too_many_kpis` fires above it.
- `KPI_GOALS_PAGE_SIZE_MAX` (500): the largest `limit` the list APIs accept.
- `KPI_GOALS_MAX_DOCUMENT_BYTES` (5000000): the largest strategy document accepted (413).
"""

from kpi_common.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

SERVICE = "goals"
SCHEMA = "goals"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="KPI_", extra="ignore", frozen=True, populate_by_name=True
    )

    port: int = Field(default=8001, validation_alias="KPI_GOALS_PORT")
    operator_token: SecretStr | None = Field(default=None, validation_alias="KPI_OPERATOR_TOKEN")
    max_kpis_per_objective: int = Field(
        default=7, ge=1, validation_alias="KPI_GOALS_MAX_KPIS_PER_OBJECTIVE"
    )
    page_size_max: int = Field(default=500, ge=1, validation_alias="KPI_GOALS_PAGE_SIZE_MAX")
    max_document_bytes: int = Field(
        default=5_000_000, ge=1024, validation_alias="KPI_GOALS_MAX_DOCUMENT_BYTES"
    )
