"""The evaluator service's settings: the shared ones plus its own, read once.

Every variable is documented in docs/evaluator.md (section "Configuration")."""

from datetime import timedelta
from typing import Literal

from kpi_common.retention import retention_months_field
from kpi_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

SERVICE = "evaluator"
SCHEMA = "evaluator"


def _env(name: str) -> str:
    return f"KPI_EVALUATOR_{name}"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="KPI_", extra="ignore", frozen=True, populate_by_name=True
    )

    port: int = Field(default=8003, validation_alias=_env("PORT"))
    db_pool_size: int = Field(default=10, ge=1, le=200, validation_alias=_env("DB_POOL_SIZE"))
    # Consumers
    group_id: str = Field(default="evaluator", validation_alias=_env("GROUP_ID"))
    max_batch: int = Field(default=5000, ge=1, validation_alias=_env("MAX_BATCH"))
    # goals.changes records decode into parsed definitions (~6 KiB a KPI): a smaller batch
    # keeps the high-water of a burst of new tenants, which the process keeps, low
    strategy_max_batch: int = Field(default=1000, ge=1, validation_alias=_env("STRATEGY_MAX_BATCH"))
    # Evaluation
    tick_s: float = Field(default=30.0, gt=0, validation_alias=_env("TICK_S"))
    stale_after_s: float = Field(default=172_800.0, gt=0, validation_alias=_env("STALE_AFTER_S"))
    # Breaches
    breach_on: Literal["off_track", "at_risk"] = Field(
        default="off_track", validation_alias=_env("BREACH_ON")
    )
    breach_for_s: float = Field(default=0.0, ge=0, validation_alias=_env("BREACH_FOR_S"))
    breach_hysteresis: float = Field(default=0.02, ge=0, validation_alias=_env("BREACH_HYSTERESIS"))
    # Only the current period and this many before it may page; older ones are restatements.
    breach_horizon_periods: int = Field(
        default=1, ge=0, validation_alias=_env("BREACH_HORIZON_PERIODS")
    )
    # Archive of consumed events (dedup, recomputation) and recompute jobs
    # KPI_ARCHIVE_RETENTION_MONTHS, shared with metrics-ingest (its older name still read)
    archive_retention_months: int = retention_months_field(_env("ARCHIVE_RETENTION_MONTHS"))
    archive_prune_interval_s: float = Field(
        default=3600.0, gt=0, validation_alias=_env("ARCHIVE_PRUNE_INTERVAL_S")
    )
    recompute_poll_s: float = Field(default=5.0, gt=0, validation_alias=_env("RECOMPUTE_POLL_S"))

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_s)

    @property
    def breach_for(self) -> timedelta:
        return timedelta(seconds=self.breach_for_s)
