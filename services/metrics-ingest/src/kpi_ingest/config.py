"""The metrics-ingest service's settings: the shared ones plus its own, read once.

Every variable is documented in docs/ingest.md (section "Configuration")."""

from kpi_common.retention import retention_months_field
from kpi_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

SERVICE = "metrics-ingest"
SCHEMA = "ingest"


def _env(name: str) -> str:
    return f"KPI_INGEST_{name}"


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="KPI_", extra="ignore", frozen=True, populate_by_name=True
    )

    port: int = Field(default=8002, validation_alias=_env("PORT"))
    db_pool_size: int = Field(default=20, ge=1, le=200, validation_alias=_env("DB_POOL_SIZE"))
    intake_workers: int = Field(default=8, ge=1, le=100, validation_alias=_env("INTAKE_WORKERS"))
    # Limits of POST /v1/events
    max_body_bytes: int = Field(default=1_048_576, ge=1024, validation_alias=_env("MAX_BODY_BYTES"))
    max_events: int = Field(default=1000, ge=1, validation_alias=_env("MAX_EVENTS"))
    max_future_minutes: int = Field(default=5, ge=0, validation_alias=_env("MAX_FUTURE_MINUTES"))
    # KPI_ARCHIVE_RETENTION_MONTHS, the evaluator's: an older event would not count
    archive_retention_months: int = retention_months_field()
    max_dimensions: int = Field(default=20, ge=0, validation_alias=_env("MAX_DIMENSIONS"))
    max_dimension_key_chars: int = Field(
        default=64, ge=1, validation_alias=_env("MAX_DIMENSION_KEY_CHARS")
    )
    max_dimension_value_chars: int = Field(
        default=256, ge=1, validation_alias=_env("MAX_DIMENSION_VALUE_CHARS")
    )
    # Idempotency window
    dedup_horizon_days: float = Field(
        default=7.0, gt=0, validation_alias=_env("DEDUP_HORIZON_DAYS")
    )
    dedup_prune_interval_s: float = Field(
        default=600.0, gt=0, validation_alias=_env("DEDUP_PRUNE_INTERVAL_S")
    )
    reject_retention_days: float = Field(
        default=30.0, gt=0, validation_alias=_env("REJECT_RETENTION_DAYS")
    )
    # API keys learned from goals.changes
    key_refresh_s: float = Field(default=2.0, gt=0, validation_alias=_env("KEY_REFRESH_S"))
    # Per-key token bucket, counted in events
    rate_events_per_s: float = Field(
        default=50_000.0, gt=0, validation_alias=_env("RATE_EVENTS_PER_S")
    )
    rate_burst: float = Field(default=100_000.0, ge=1, validation_alias=_env("RATE_BURST"))
    # Kafka outage handling
    kafka_retry_after_s: int = Field(default=5, ge=1, validation_alias=_env("KAFKA_RETRY_AFTER_S"))
    kafka_probe_s: float = Field(default=1.0, gt=0, validation_alias=_env("KAFKA_PROBE_S"))
    # Debezium sources: how often the list of CDC sources is re-read
    cdc_refresh_s: float = Field(default=5.0, gt=0, validation_alias=_env("CDC_REFRESH_S"))
    # Webhook sources
    webhook_tolerance_s: int = Field(
        default=300, ge=1, validation_alias=_env("WEBHOOK_TOLERANCE_S")
    )
